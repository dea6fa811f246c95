"""coldrig's AWX client (plugins/module_utils/awx.py) against the AWX API simulator, over real HTTP on 127.0.0.1."""
from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from coldrig.serve import request as req
from tests.support.awx_sim import AwxSimulator

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "awx-token-0123456789abcdef"
awx = req.module_util(ROOT, "awx")


@pytest.fixture
def sim():
    with AwxSimulator(tokens=[TOKEN], step=0.05) as simulator:
        simulator.add_template(42, tasks=("one", "two", "three", "four"))
        yield simulator


def _client(sim, token=TOKEN):
    return awx.AwxClient(sim.base_url, token, max_retries=1, max_wait=0.1)


def _wait_finished(client, job_id, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.job(job_id)
        if job["status"] in awx.FINISHED and job["event_processing_finished"]:
            return job
        time.sleep(0.05)
    raise AssertionError(f"AWX job {job_id} did not finish")


def test_a_launched_job_runs_through_awx_states_to_successful_with_paged_events(sim):
    with _client(sim) as client:
        launched = client.launch(42, extra_vars={"coldrig_backend": "postfix"}, limit="node1,node2")
        assert launched["ignored_fields"] == {} and launched["status"] == "pending"
        seen = {client.job(launched["job"])["status"]}
        job = _wait_finished(client, launched["job"])
        assert job["status"] == "successful" and job["limit"] == "node1,node2"
        # start, play, 4 x (task start + 2 hosts), stats: 15 events in five pages, followed by `next`
        events = client.job_events(launched["job"], page_size=3)
        assert [event["counter"] for event in events] == list(range(1, 16))
        assert events[-1]["event"] == "playbook_on_stats" and events[-1]["event_data"]["ok"] == {"node1": 4, "node2": 4}
        assert [event["counter"] for event in client.job_events(launched["job"], after=13)] == [14, 15]
        assert seen <= {"pending", "waiting", "running"}
    assert ("GET", f"/api/v2/jobs/{launched['job']}/job_events/") in sim.requests
    assert sum(1 for entry in sim.request_log if entry["query"].get("page") == ["5"]) == 1


def test_a_wrong_token_gets_401_and_an_unknown_template_404(sim):
    with _client(sim, token="not-the-token") as client, pytest.raises(awx.AwxError) as refused:
        client.launch_info(42)
    assert refused.value.status == 401 and "Authentication credentials were not provided" in str(refused.value)
    assert "not-the-token" not in str(refused.value) and "not-the-token" not in repr(client)
    with _client(sim) as client, pytest.raises(awx.AwxError) as unknown:
        client.launch(7)
    assert unknown.value.status == 404 and unknown.value.path == "/api/v2/job_templates/7/launch/"


def test_a_missing_survey_variable_gets_400_and_an_unprompted_field_is_ignored(sim):
    sim.add_template(43, required_variables=("coldrig_domains",), ask_limit_on_launch=False)
    with _client(sim) as client:
        with pytest.raises(awx.AwxError) as refused:
            client.launch(43, extra_vars={"coldrig_backend": "postfix"})
        assert refused.value.status == 400 and "'coldrig_domains' value missing" in str(refused.value)
        launched = client.launch(43, extra_vars={"coldrig_domains": []}, limit="node1")
        assert launched["ignored_fields"] == {"limit": "node1"}
        assert client.launch_info(43)["ask_limit_on_launch"] is False


def test_cancel_is_taken_while_running_and_refused_with_405_once_finished(sim):
    with _client(sim) as client:
        running = client.launch(42, extra_vars={}, limit="node1")["job"]
        assert client.cancel(running) is True
        assert _wait_finished(client, running)["status"] == "canceled"
        assert client.cancel(running) is False
    assert sim.cancel_requests(running) == 2


def test_a_launch_is_not_repeated_after_a_5xx():
    calls = []

    def flaky(request):
        calls.append(request.method)
        return httpx.Response(502, text="Bad Gateway")

    client = awx.AwxClient("http://awx.invalid/api/v2", TOKEN, max_retries=3, max_wait=0.01,
                           transport=httpx.MockTransport(flaky))
    with client, pytest.raises(awx.AwxError) as failed:
        client.launch(42, extra_vars={})
    assert calls == ["POST"] and failed.value.status == 502
