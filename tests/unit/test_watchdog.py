"""The local stack's watchdog: a server that does not answer is reported once, then it stops probing."""

import socket
import threading

from txdagster.local import watchdog
from txdagster.settings import get_settings, with_overrides


def _dead_endpoint() -> str:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_a_server_that_does_not_answer_is_reported_once_after_two_probes(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    settings = with_overrides(get_settings(), endpoint_url=_dead_endpoint())
    assert "does not answer" in watchdog.probe(settings)

    reports: list[str] = []
    done = threading.Event()
    dog = watchdog.AwsWatchdog(settings, lambda reason: (reports.append(reason), done.set()), interval=0.05)
    dog.start()
    assert done.wait(timeout=30)
    dog.join(timeout=5)
    assert not dog.is_alive() and len(reports) == 1 and reports[0] == dog.lost
    assert settings.endpoint_url in reports[0]
