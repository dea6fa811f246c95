"""`coldrig serve --dispatch awx`: the real server (uvicorn, `coldrig serve` in a subprocess) on loopback
launching AWX job templates on the AWX API simulator (tests/support/awx_sim.py) -- not a real AWX,
which cannot run here (docs/awx.md says what was not run).
"""

from __future__ import annotations

import json
import secrets
import time

import pytest

from tests.integration.test_serve import Server, _events
from tests.support.awx_sim import AwxSimulator

AWX_TOKEN = "awx-oauth-" + secrets.token_hex(16)
TEMPLATE = 42
SUMMARY = {"nodes": {"node1": {"mail_host": "node1.example.test", "records": [], "mailboxes": {"example.com": 5},
                               "deliverability": []}}}
SPEC = {"coldrig_domains": [{"name": "example.com", "mailboxes": 5}], "coldrig_backend": "postfix"}


@pytest.fixture(scope="module")
def awx():
    with AwxSimulator(tokens=[AWX_TOKEN], step=0.2) as sim:
        sim.add_template(TEMPLATE, tasks=("Seed the mailboxes", "Export the credentials"), fail_hosts=("node2",),
                         artifacts={"coldrig_summary": SUMMARY, "other": 1})
        yield sim


def _start(tmp_path_factory, awx, token=AWX_TOKEN) -> Server:
    server = Server(tmp_path_factory.mktemp("serve-awx"))
    return server.start(dispatch="awx", awx_url=awx.base_url, awx_token=token, awx_job_template=str(TEMPLATE),
                        awx_poll_interval="1")


@pytest.fixture(scope="module")
def server(tmp_path_factory, awx):
    running = _start(tmp_path_factory, awx)
    yield running
    running.stop()


def _submit(server: Server, nodes, **spec):
    body = json.dumps({"nodes": list(nodes), **SPEC, **spec}).encode()
    response = server.post_raw(body, server.headers("POST", "/v1/onboardings", body))
    assert response.status_code == 202, response.text
    return response.json()["id"]


def test_a_signed_post_with_dispatch_awx_runs_the_awx_job_to_successful_with_events_and_recap(server, awx):
    job_id = _submit(server, ["node1"])
    events = _events(server, job_id)
    job = server.wait(job_id, timeout=60)
    assert job["state"] == "successful", job
    assert job["rc"] is None and job["explanation"] is None
    assert job["summary"] == SUMMARY  # the AWX job's artifacts (the playbook's set_stats)
    assert job["recap"]["node1"] == {"ok": 2, "changed": 2, "failed": 0, "unreachable": 0, "skipped": 0,
                                     "rescued": 0, "ignored": 0}
    names = [name for _id, name, _data in events]
    assert names[0] == "playbook_on_start" and names[-2:] == ["playbook_on_stats", "job_finished"]
    oks = [data for _id, name, data in events if name == "runner_on_ok"]
    assert [(data["host"], data["task"], data["changed"]) for data in oks] == [
        ("node1", "Seed the mailboxes", True), ("node1", "Export the credentials", True)]
    assert events[-1][2]["state"] == "successful"
    extra_vars, limit = awx.launched_with(awx.jobs()[-1])
    assert extra_vars == SPEC and limit == "node1"
    files = [server.log] + [path for path in server.data_dir.rglob("*") if path.is_file()]
    assert not [str(path) for path in files if AWX_TOKEN.encode() in path.read_bytes()]


def test_a_failed_awx_job_ends_failed_with_the_failure_in_its_events(server):
    job_id = _submit(server, ["node2"])
    job = server.wait(job_id, timeout=60)
    assert job["state"] == "failed", job
    assert job["recap"]["node2"]["failed"] == 1
    assert job["explanation"].startswith("AWX job ") and "ended failed" in job["explanation"]
    failures = [data for _id, name, data in _events(server, job_id) if name == "runner_on_failed"]
    assert failures and failures[0]["host"] == "node2" and failures[0]["msg"] == "non-zero return code"


def test_cancel_reaches_the_cancel_endpoint_of_the_awx_job(server, awx):
    awx.step = 2.0  # a job of about 20 s
    try:
        job_id = _submit(server, ["node1"])
        server.wait(job_id, states={"running"}, timeout=20)
        deadline = time.monotonic() + 20
        while not (server.data_dir / "jobs" / job_id / "awx_job").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        awx_id = int((server.data_dir / "jobs" / job_id / "awx_job").read_text(encoding="utf-8"))
        assert server.cancel(job_id).status_code == 202
        job = server.wait(job_id, timeout=30)
    finally:
        awx.step = 0.2
    assert job["state"] == "canceled", job
    assert awx.cancel_requests(awx_id) == 1
    assert ("POST", f"/api/v2/jobs/{awx_id}/cancel/") in awx.requests
    assert awx.job(awx_id)["status"] == "canceled"


def test_a_request_with_a_secret_is_refused_with_dispatch_awx(server):
    body = json.dumps({"nodes": ["node1"], **SPEC, "coldrig_dns": {"provider": "cloudflare", "api_token": "t" * 40}})
    response = server.post_raw(body.encode(), server.headers("POST", "/v1/onboardings", body.encode()))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0].startswith("coldrig_dns.api_token: with dispatch awx")


def test_a_wrong_awx_token_gives_a_clear_error_naming_the_setting(tmp_path_factory, awx):
    server = _start(tmp_path_factory, awx, token="wrong-" + secrets.token_hex(8))
    try:
        job_id = _submit(server, ["node1"])
        job = server.wait(job_id, timeout=30)
    finally:
        server.stop()
    assert job["state"] == "error", job
    assert "awx_token: AWX refused the token" in job["explanation"] and "HTTP 401" in job["explanation"]
    assert "COLDRIG_SERVE_AWX_TOKEN" in job["explanation"]
    assert "wrong-" not in job["explanation"] and "wrong-" not in server.log.read_text()


def test_a_template_that_does_not_prompt_for_the_limit_is_not_launched(tmp_path_factory, awx):
    awx.add_template(44, ask_limit_on_launch=False)
    server = Server(tmp_path_factory.mktemp("serve-awx-noprompt")).start(
        dispatch="awx", awx_url=awx.base_url, awx_token=AWX_TOKEN, awx_job_template="44", awx_poll_interval="1")
    try:
        before = awx.jobs()
        job = server.wait(_submit(server, ["node1"]), timeout=30)
    finally:
        server.stop()
    assert job["state"] == "error", job
    assert job["explanation"].startswith("awx_job_template: AWX job template 44 does not prompt on launch for Limit;")
    assert awx.jobs() == before  # nothing was launched to run on every host of the inventory


def test_an_awx_job_longer_than_job_timeout_is_canceled_in_awx_and_ends_timeout(tmp_path_factory, awx):
    server = Server(tmp_path_factory.mktemp("serve-awx-timeout")).start(
        dispatch="awx", awx_url=awx.base_url, awx_token=AWX_TOKEN, awx_job_template=str(TEMPLATE),
        awx_poll_interval="1", job_timeout="3")
    awx.step = 2.0  # a job of about 20 s
    try:
        job = server.wait(_submit(server, ["node1"]), timeout=40)
    finally:
        awx.step = 0.2
        server.stop()
    awx_id = awx.jobs()[-1]
    assert job["state"] == "timeout" and "job_timeout (3 s)" in job["explanation"], job
    assert awx.cancel_requests(awx_id) == 1 and awx.job(awx_id)["status"] == "canceled"
