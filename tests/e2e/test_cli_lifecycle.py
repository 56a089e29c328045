"""End to end through the command line: the stack's lifecycle (a reset, Ctrl-C's kin, refusals), the
demo, and the messages a command gives when nobody answers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request

from tests.conftest import wait_for
from tests.e2e.cli import TXDAGSTER, alive, run_cli, serving
from txdagster.local.emulator import free_port


def test_a_reset_of_the_embedded_aws_server_is_reported_once_and_stops_the_stack(tmp_path):
    port, home = free_port(), tmp_path / "home"
    env = {**os.environ, "TXD_HOME": str(home)}
    log_path = tmp_path / "up.log"  # outside the state folder, which `up` starts afresh
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [TXDAGSTER, "up", "--traffic", "--rate", "5", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for(lambda: serving(port) or process.poll() is not None, timeout=150, what="the Dagster UI")
            stack = json.loads((home / "stack.json").read_text())
            endpoint = stack["environment"]["AWS_ENDPOINT_URL"]
            urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10)
            assert process.wait(timeout=60) == 1
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    said = " ".join(log_path.read_text().split())
    assert said.count("was reset: the stack's resources are gone") == 1, said[-3000:]
    assert "txdagster up" in said.split("was reset", 1)[1]
    assert "Traceback" not in said, said[-3000:]  # one line per kind of failure, from every part of the stack
    lines = log_path.read_text().splitlines()
    firsts = [line.split("; retrying")[0] for line in lines if "not logging repeats" in line]
    assert len(firsts) == len(set(firsts)), firsts  # the first failure of each poller, not one per tick
    wait_for(lambda: not alive(stack["dagster_pid"]), timeout=30, what="dagster dev to exit")
    assert not serving(port) and not (home / "stack.json").exists()


def test_demo_exits_zero_and_prints_the_parity_verdict(tmp_path):
    result = run_cli({**os.environ, "TXD_HOME": str(tmp_path), "COLUMNS": "160"}, "demo")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "PARITY OK" in result.stdout
    assert "DEMO PASSED" in result.stdout


def test_a_lake_command_on_aws_without_a_lake_bucket_says_where_to_find_it(tmp_path, monkeypatch, capsys):
    from txdagster import cli

    monkeypatch.setenv("TXD_HOME", str(tmp_path))  # no local stack recorded either
    monkeypatch.delenv("TXD_LAKE_BUCKET", raising=False)
    assert cli.main(["trace", "raw/crm/x.jsonl"]) == 2
    said = " ".join(capsys.readouterr().out.split())
    assert "TXD_LAKE_BUCKET is not set" in said and "LakeBucketName output" in said, said


def test_a_stale_stack_file_gets_a_clear_message_not_a_traceback(tmp_path, monkeypatch, capsys):
    import json
    import socket

    from txdagster import cli

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    monkeypatch.setenv("TXD_HOME", str(tmp_path))
    environment = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{dead}",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_REGION": "eu-west-1",
        "TXD_LAKE_BUCKET": "txd-lake-123456789012-eu-west-1",
    }
    for name in environment:
        monkeypatch.setenv(name, environment[name])  # restored after the test: the CLI copies the stack's in
    (tmp_path / "stack.json").write_text(json.dumps({"environment": environment}))
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")

    for argv in (["query", "SELECT count(*) FROM transaction_files"], ["trace", "raw/crm/x.jsonl"]):
        for local in (True, False):  # the recorded stack only when asked for: else the environment's AWS
            capsys.readouterr()
            assert cli.main([argv[0], *(["--local"] if local else []), *argv[1:]]) == 2, argv
            printed = capsys.readouterr()
            said = " ".join(printed.out.split())  # the console wraps lines
            where = f"the local stack in {tmp_path / 'stack.json'}" if local else "the environment's AWS endpoint"
            assert f"{where} does not answer" in said and "txdagster up" in said, said
            assert "Traceback" not in printed.out + printed.err

    (tmp_path / "stack.json").write_text('{"environment": {"AWS_ENDPO')  # cut short by a killed process
    from txdagster.local import state

    assert state.read_stack() is None
    capsys.readouterr()
    assert cli.main(["dlq", "--local"]) == 2  # asked for a local stack where none is recorded
    assert "no local stack is recorded" in " ".join(capsys.readouterr().out.split())


def test_up_refuses_while_a_stack_runs_or_its_port_is_taken_and_down_ends_a_stale_one(tmp_path, monkeypatch, capsys):
    import json
    import socket
    import subprocess

    from txdagster import cli

    monkeypatch.setenv("TXD_HOME", str(tmp_path))
    stale = subprocess.Popen(["sleep", "120"], start_new_session=True)  # a dagster dev left by a killed `up`
    try:
        (tmp_path / "stack.json").write_text(json.dumps({"environment": {}, "dagster_pid": stale.pid}))
        capsys.readouterr()
        assert cli.main(["up", "--port", "0"]) == 2
        said = " ".join(capsys.readouterr().out.split())
        assert f"dagster dev (pid {stale.pid})" in said and "txdagster down" in said

        assert cli.main(["down"]) == 0
        assert stale.wait(timeout=30) is not None and not (tmp_path / "stack.json").exists()
    finally:
        stale.kill()

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        capsys.readouterr()
        assert cli.main(["up", "--port", str(port)]) == 2
        said = " ".join(capsys.readouterr().out.split())
        assert f"port {port} is taken by python" in said and f"(pid {os.getpid()})" in said  # who holds it


def test_a_port_a_stopped_stack_left_in_time_wait_is_free_for_the_next_up():
    import socket

    from txdagster.local.lifecycle import port_taken

    with socket.socket() as server:  # a server as dagster's and moto's bind (SO_REUSEADDR)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        assert port_taken(port)  # listening
        accepted.close()  # the server side closes first: its end stays in TIME_WAIT
        client.close()
    assert not port_taken(port)  # only TIME_WAIT is left: `up` right after `down` may bind it


def test_send_puts_nothing_on_a_queue_unless_told_which(tmp_path, monkeypatch, capsys):
    from txdagster import cli

    monkeypatch.setenv("TXD_HOME", str(tmp_path))  # no local stack recorded
    monkeypatch.delenv("TXD_INBOUND_QUEUE", raising=False)
    cases = {
        ("send",): "give --local for the running local stack",
        ("send", "--yes-really-send-to", "someone-elses-queue"): "inbound queue (TXD_INBOUND_QUEUE) is 'txd-inbound'",
        ("send", "--local"): "no local stack is recorded",
    }
    for argv, said in cases.items():
        capsys.readouterr()
        assert cli.main(list(argv)) == 2, argv
        assert said in " ".join(capsys.readouterr().out.split()), argv
