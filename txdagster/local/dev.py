"""Run ``dagster dev`` as a child process that stops when we stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from txdagster.local.state import ROOT, dagster_home


def _restore_signals() -> None:
    # dagster dev started from a background process ignores SIGINT/SIGTERM unless these are restored
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def start_dagster(env: dict[str, str], port: int, log_file: Path) -> subprocess.Popen:
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "dev", "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)]
    child_env = {**os.environ, **env, "DAGSTER_HOME": str(dagster_home())}
    with open(log_file, "ab") as log:
        return subprocess.Popen(
            command,
            cwd=dagster_home(),  # where its dagster.yaml is: the checkout's copy is only the template
            env=child_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_restore_signals,
            start_new_session=True,
        )


def wait_for_webserver(port: int, process: subprocess.Popen, timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2).close()
            return True
        except OSError:
            time.sleep(0.5)
    return False


def stop_process_group(process: subprocess.Popen, grace: float = 20) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass
