"""End to end through the command line, as a newcomer runs it: one ``txdagster up`` shared by these tests
(the stack's lifecycle, the demo and the refusals are in ``test_cli_lifecycle.py``, which another worker runs)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import urllib.request
from pathlib import Path

import boto3
import pytest

from tests.conftest import wait_for
from tests.e2e import browser
from tests.e2e.cli import TXDAGSTER, alive, descendants, run_cli, serving
from txdagster.local import traffic
from txdagster.local.api_client import ApiClient
from txdagster.local.emulator import free_port


def _count(env: dict[str, str]) -> int:
    result = run_cli(env, "query", "--local", "select count(*) as n from transactions_current", "--json")
    return json.loads(result.stdout)[0]["n"] if result.returncode == 0 else 0


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


@pytest.fixture(scope="module")
def running_up(tmp_path_factory):
    home = tmp_path_factory.mktemp("txd-home")
    port = free_port()
    env = {**os.environ, "TXD_HOME": str(home)}
    log = open(home.parent / "up.log", "w")  # noqa: SIM115 - kept open for the process's life
    process = subprocess.Popen(
        [TXDAGSTER, "up", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stack_file = home / "stack.json"
    try:
        wait_for(lambda: stack_file.exists() or process.poll() is not None, timeout=90, what="stack.json")
        wait_for(lambda: serving(port) or process.poll() is not None, timeout=120, what="the Dagster UI")
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


def test_up_serves_the_asset_lineage_in_the_dagster_ui(running_up):
    data = _graphql(running_up["port"], "{ assetNodes { assetKey { path } dependencyKeys { path } } }")
    lineage = {
        "/".join(n["assetKey"]["path"]): ["/".join(d["path"]) for d in n["dependencyKeys"]] for n in data["assetNodes"]
    }
    assert lineage["transactions_current"] == ["transaction_changes"]
    assert {"transaction_changes", "transaction_files"} <= set(lineage)


def test_up_runs_the_sensors_and_the_view_grows_within_a_minute(running_up):
    """Sent in two bursts (`up --traffic` streams all the time, and each run it sets off costs a
    core-second or more of the suite: the reset test runs it)."""
    env = running_up["env"]
    assert run_cli(env, "send", "--local", "--count", "5", "--seed", "1").returncode == 0
    first = wait_for(lambda: _count(env), timeout=120, interval=2, what="rows in transactions_current")
    assert run_cli(env, "send", "--local", "--count", "5", "--seed", "2").returncode == 0
    wait_for(lambda: _count(env) > first, timeout=60, interval=2, what="transactions_current to grow")


def test_token_gives_access_to_the_running_data_api(running_up):
    token = run_cli(running_up["env"], "token").stdout.strip()
    api_url = running_up["stack"]["environment"]["TXD_API_URL"]
    reply = ApiClient(api_url, token).get("payments:does-not-exist")
    assert reply.status == 404
    assert reply.content_type == "application/problem+json"


def test_info_describes_the_running_stack(running_up):
    info = json.loads(run_cli(running_up["env"], "info", "--json").stdout)
    assert info["running_local_stack"] is True
    assert info["settings"]["endpoint_url"].startswith("http://127.0.0.1:")
    assert info["settings"]["lake_bucket"] == "txd-lake-123456789012-eu-west-1"  # unique per account and region


def test_send_puts_messages_through_to_dynamodb(running_up):
    result = run_cli(running_up["env"], "send", "--local", "--count", "2", "--source", "crm", "--seed", "4242")
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


def test_a_file_dropped_into_a_past_day_is_done_within_30_seconds(running_up):
    environment = running_up["stack"]["environment"]
    s3 = boto3.client(
        "s3",
        endpoint_url=environment["AWS_ENDPOINT_URL"],
        region_name=environment["AWS_REGION"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    key = "raw/crm/dt=2025-01-15/dropped-late.jsonl"
    record = {
        "transaction_id": "crm:dropped-late",
        "account_id": "ACC-LATE",
        "amount": "1.00",
        "currency": "EUR",
        "transaction_type": "payment",
        "status": "settled",
        "event_time": "2025-01-15T10:00:00Z",
    }
    s3.put_object(Bucket=environment["TXD_LAKE_BUCKET"], Key=key, Body=json.dumps(record).encode())

    def state() -> str:
        traced = run_cli(running_up["env"], "trace", "--local", key, "--json")
        return json.loads(traced.stdout).get("state", "") if traced.returncode == 0 else ""

    assert wait_for(lambda: state() == "done", timeout=30, interval=1, what=f"{key} done in trace")


def test_runs_start_from_the_code_servers_forkserver(running_up):
    """defs/run_starter.py: the code location's server forks runs from a process that has the code."""
    processes = descendants(running_up["process"].pid)
    forked = {pid: parent for pid, (parent, command) in processes.items() if "multiprocessing.forkserver" in command}
    servers = [pid for pid, parent in forked.items() if parent not in forked]  # the others are its runs
    assert len(servers) == 1, processes
    assert "txdagster.definitions" in processes[servers[0]][1]
    assert "api grpc" in processes[forked[servers[0]]][1]
    assert all(parent == servers[0] for pid, parent in forked.items() if pid != servers[0])


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
    same_home = run_cli(running_up["env"], "up", "--port", str(free_port()))
    assert same_home.returncode == 2 and "txdagster down" in " ".join(same_home.stdout.split())
    same_port = run_cli({**running_up["env"], "TXD_HOME": str(tmp_path)}, "up", "--port", str(running_up["port"]))
    assert same_port.returncode == 2 and f"port {running_up['port']} is taken" in " ".join(same_port.stdout.split())

    assert running_up["process"].poll() is None and serving(running_up["port"])
    token = run_cli(running_up["env"], "token").stdout.strip()
    api = ApiClient(running_up["stack"]["environment"]["TXD_API_URL"], token)
    assert api.call("GET", "/transactions?account_id=ACC-0001&limit=1").status == 200


def test_ctrl_c_stops_every_process_up_started(running_up):
    process = running_up["process"]
    dagster_pid = running_up["stack"]["dagster_pid"]
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    wait_for(lambda: not alive(dagster_pid), timeout=30, what="dagster dev to exit")
    assert not serving(running_up["port"])
