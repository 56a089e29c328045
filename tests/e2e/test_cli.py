"""End to end through the command line, as a newcomer runs it: ``txdagster up`` and ``txdagster demo``."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3
import pytest

from tests.conftest import wait_for
from tests.e2e import browser
from txdagster.local import traffic
from txdagster.local.api_client import ApiClient
from txdagster.local.emulator import free_port

TXDAGSTER = str(Path(sys.executable).with_name("txdagster"))


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([TXDAGSTER, *args], env=env, capture_output=True, text=True, timeout=120)


def _count(env: dict[str, str]) -> int:
    result = _cli(env, "query", "--local", "select count(*) as n from transactions_current", "--json")
    return json.loads(result.stdout)[0]["n"] if result.returncode == 0 else 0


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def running_up(tmp_path_factory):
    home = tmp_path_factory.mktemp("txd-home")
    port = free_port()
    env = {**os.environ, "TXD_HOME": str(home)}
    log = open(home.parent / "up.log", "w")  # noqa: SIM115 - kept open for the process's life
    process = subprocess.Popen(
        [TXDAGSTER, "up", "--traffic", "--rate", "3", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stack_file = home / "stack.json"
    try:
        wait_for(lambda: stack_file.exists() or process.poll() is not None, timeout=90, what="stack.json")
        wait_for(lambda: _serving(port) or process.poll() is not None, timeout=120, what="the Dagster UI")
        assert process.poll() is None, (home.parent / "up.log").read_text()[-3000:]
        yield {"env": env, "port": port, "process": process, "stack": json.loads(stack_file.read_text())}
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        log.close()


def _serving(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2).close()
        return True
    except OSError:
        return False


def test_up_serves_the_asset_lineage_in_the_dagster_ui(running_up):
    data = _graphql(running_up["port"], "{ assetNodes { assetKey { path } dependencyKeys { path } } }")
    lineage = {
        "/".join(n["assetKey"]["path"]): ["/".join(d["path"]) for d in n["dependencyKeys"]] for n in data["assetNodes"]
    }
    assert lineage["transactions_current"] == ["transaction_changes"]
    assert {"transaction_changes", "transaction_files"} <= set(lineage)


def test_up_runs_the_sensors_and_the_view_grows_within_a_minute(running_up):
    env = running_up["env"]
    first = wait_for(lambda: _count(env), timeout=120, interval=3, what="rows in transactions_current")
    wait_for(lambda: _count(env) > first, timeout=60, interval=3, what="transactions_current to grow")


def test_token_gives_access_to_the_running_data_api(running_up):
    token = _cli(running_up["env"], "token").stdout.strip()
    api_url = running_up["stack"]["environment"]["TXD_API_URL"]
    reply = ApiClient(api_url, token).get("payments:does-not-exist")
    assert reply.status == 404
    assert reply.content_type == "application/problem+json"


def test_info_describes_the_running_stack(running_up):
    info = json.loads(_cli(running_up["env"], "info", "--json").stdout)
    assert info["running_local_stack"] is True
    assert info["settings"]["endpoint_url"].startswith("http://127.0.0.1:")
    assert info["settings"]["lake_bucket"] == "txd-lake-123456789012-eu-west-1"  # unique per account and region


def test_send_puts_messages_through_to_dynamodb(running_up):
    result = _cli(running_up["env"], "send", "--count", "2", "--source", "crm", "--seed", "4242")
    assert result.returncode == 0, result.stderr
    rng = random.Random(4242)
    expected = [traffic.valid_message(rng.choice(["crm"]), rng).transaction_id for _ in range(2)]
    environment = running_up["stack"]["environment"]
    table = boto3.resource(
        "dynamodb",
        endpoint_url=environment["AWS_ENDPOINT_URL"],
        region_name=environment["AWS_REGION"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).Table(environment["TXD_TRANSACTIONS_TABLE"])
    for transaction_id in expected:
        wait_for(lambda t=transaction_id: table.get_item(Key={"transaction_id": t}).get("Item"), what=transaction_id)


def test_the_lineage_page_shows_the_lake_assets_in_chromium(running_up, tmp_path):
    if not browser.available():
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian's chromium and chromium-driver (see .ci/run)")
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    shots = Path(os.environ.get("TXD_SCREENSHOT_DIR") or tmp_path)  # `make screenshots`: docs/lineage.png
    driver = browser.chromium()
    try:
        driver.get(f"http://127.0.0.1:{running_up['port']}/locations/txdagster/asset-groups/lake")
        WebDriverWait(driver, 60).until(lambda d: "transaction_changes" in d.find_element(By.TAG_NAME, "body").text)
        for skip in driver.find_elements(By.XPATH, "//button[normalize-space()='Skip']"):
            skip.click()
        text = driver.find_element(By.TAG_NAME, "body").text
        everything = browser.lineage_screenshot(
            driver, f"http://127.0.0.1:{running_up['port']}", str(shots / "lineage.png")
        )
    finally:
        driver.quit()
    assert "transaction_changes" in text
    assert "transaction_files" in text
    assert "transactions_current" in text  # the downstream view is drawn as the group's neighbour
    assert all(group in everything for group in ("contract", "lake", "current", "bi"))  # every group, unfolded
    assert (shots / "lineage.png").stat().st_size > 10_000


def test_a_second_up_on_a_running_stack_exits_non_zero_and_the_first_keeps_serving(running_up, tmp_path):
    same_home = _cli(running_up["env"], "up", "--port", str(free_port()))
    assert same_home.returncode == 2 and "txdagster down" in " ".join(same_home.stdout.split())
    same_port = _cli({**running_up["env"], "TXD_HOME": str(tmp_path)}, "up", "--port", str(running_up["port"]))
    assert same_port.returncode == 2 and f"port {running_up['port']} is taken" in " ".join(same_port.stdout.split())

    assert running_up["process"].poll() is None and _serving(running_up["port"])
    token = _cli(running_up["env"], "token").stdout.strip()
    api = ApiClient(running_up["stack"]["environment"]["TXD_API_URL"], token)
    assert api.call("GET", "/transactions?account_id=ACC-0001&limit=1").status == 200


def test_ctrl_c_stops_every_process_up_started(running_up):
    process = running_up["process"]
    dagster_pid = running_up["stack"]["dagster_pid"]
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    wait_for(lambda: not _alive(dagster_pid), timeout=30, what="dagster dev to exit")
    assert not _serving(running_up["port"])


def test_a_reset_of_the_embedded_aws_server_is_reported_once_and_stops_the_stack(tmp_path):
    port, home = free_port(), tmp_path / "home"
    env = {**os.environ, "TXD_HOME": str(home)}
    log_path = tmp_path / "up.log"  # outside the state folder, which `up` starts afresh
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [TXDAGSTER, "up", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for(lambda: _serving(port) or process.poll() is not None, timeout=150, what="the Dagster UI")
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
    lines = log_path.read_text().splitlines()
    firsts = [line.split("; retrying")[0] for line in lines if "not logging repeats" in line]
    assert len(firsts) == len(set(firsts)), firsts  # the first failure of each poller, not one per tick
    wait_for(lambda: not _alive(stack["dagster_pid"]), timeout=30, what="dagster dev to exit")
    assert not _serving(port) and not (home / "stack.json").exists()


def test_demo_exits_zero_and_prints_the_parity_verdict(tmp_path):
    result = _cli({**os.environ, "TXD_HOME": str(tmp_path), "COLUMNS": "160"}, "demo")
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
        assert f"port {port} is taken" in " ".join(capsys.readouterr().out.split())
