"""`coldrig serve` end to end: the real server (uvicorn, `coldrig serve` in a subprocess) on loopback,
a real ansible-runner running tests/support/serve/onboard.yml (the real spec check, then real tasks
on localhost standing in for two nodes), the real SQLite store. No lab VM.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import http.server
import threading
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from coldrig.serve.auth import sign

ROOT = Path(__file__).resolve().parents[2]

SECRET = "hmac-new-" + secrets.token_hex(20)
OLD_SECRET = "hmac-old-" + secrets.token_hex(20)
DNS_TOKEN = "dns-token-" + secrets.token_hex(16)
SPEC = {
    "coldrig_domains": [{"name": "example.com", "mailboxes": 5}],
    "coldrig_backend": "postfix",
    "coldrig_dns": {"provider": "cloudflare", "api_token": DNS_TOKEN},
}
FINISHED = {"successful", "failed", "canceled", "timeout", "interrupted", "error"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`coldrig serve` as a user runs it, with its settings in a TOML file and its secrets in the environment."""

    def __init__(self, base: Path, concurrency: int = 2):
        self.base = base
        self._signed: set[tuple[bytes, int]] = set()  # (body, second) of every request signed
        self.data_dir = base / "data"
        self.log = base / "server.log"
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = base / "serve.toml"
        self.config.write_text(
            "[serve]\n"
            f'bind = "127.0.0.1:{self.port}"\n'
            f'data_dir = "{self.data_dir}"\n'
            f'project_dir = "{ROOT}"\n'
            'playbook = "tests/support/serve/onboard.yml"\n'
            f"concurrency = {concurrency}\n"
            "job_timeout = 120\n"
            'default_inventory = "test"\n'
            "[serve.inventories]\n"
            'test = "tests/support/serve/inventory.yml"\n', encoding="utf-8")
        self.process: subprocess.Popen | None = None

    def start(self, **settings: str) -> "Server":
        env = dict(os.environ)
        env.update({f"COLDRIG_SERVE_{name.upper()}": value for name, value in settings.items()})
        env.update({
            "PYTHONPATH": str(ROOT / "src"),
            "COLDRIG_SERVE_SECRETS": f"{SECRET},{OLD_SECRET}",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        })
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(  # pylint: disable=consider-using-with
                [sys.executable, "-m", "coldrig.cli", "serve", "--config", str(self.config)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=self.base)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail("coldrig serve did not answer /healthz in 30 s:\n" + self.log.read_text())
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def kill9(self) -> None:
        self.process.kill()
        self.process.wait(5)

    # -- signed requests --------------------------------------------------------------------
    def headers(self, method: str, path: str, body: bytes = b"", secret: str = SECRET, when: float | None = None):
        stamp = int(time.time() if when is None else when)
        self._signed.add((body, stamp))
        return {"X-Coldrig-Signature": sign(secret, stamp, body, method, path), "Content-Type": "application/json"}

    def post_raw(self, body: bytes, headers: dict) -> httpx.Response:
        return httpx.post(self.url + "/v1/onboardings", content=body, headers=headers, timeout=30)

    def submit(self, nodes=("node1",), key: str | None = None, **spec) -> httpx.Response:
        body = json.dumps({"nodes": list(nodes), **SPEC, **spec}).encode()
        # The same body signed in the same second is the same signature, which the server refuses as a
        # replay (docs/serve.md): a client that sends one body twice signs it in another second.
        while (body, int(time.time())) in self._signed:
            time.sleep(0.05)
        headers = self.headers("POST", "/v1/onboardings", body)
        if key:
            headers["Idempotency-Key"] = key
        return self.post_raw(body, headers)

    def get(self, path: str, secret: str = SECRET, **kwargs) -> httpx.Response:
        return httpx.get(self.url + path, headers=self.headers("GET", path, secret=secret), timeout=30, **kwargs)

    def cancel(self, job_id: str) -> httpx.Response:
        path = f"/v1/jobs/{job_id}/cancel"
        return httpx.post(self.url + path, headers=self.headers("POST", path), timeout=30)

    def job(self, job_id: str) -> dict:
        response = self.get(f"/v1/jobs/{job_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def wait(self, job_id: str, states=None, timeout: float = 90) -> dict:
        states = FINISHED if states is None else states
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if job["state"] in states:
                return job
            time.sleep(0.3)
        pytest.fail(f"job {job_id} not in {states} after {timeout} s: {job}\n" + self.log.read_text()[-3000:])
        return {}

    def job_count(self) -> int:
        return len(self.get("/v1/jobs?limit=1000").json()["jobs"])


def _events(server: Server, job_id: str, last_event_id: str | None = None, stop_after: int | None = None):
    """(id, event, data) of the SSE stream, until job_finished or ``stop_after`` events."""
    path = f"/v1/jobs/{job_id}/events"
    headers = server.headers("GET", path)
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    seen, current = [], {}
    with httpx.stream("GET", server.url + path, headers=headers, timeout=httpx.Timeout(90, connect=10)) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith(("id: ", "event: ", "data: ")):
                key, _sep, value = line.partition(": ")
                current[key] = value
            elif not line and "id" in current:
                seen.append((int(current["id"]), current["event"], json.loads(current["data"])))
                current = {}
                if seen[-1][1] == "job_finished" or (stop_after and len(seen) >= stop_after):
                    break
    return seen


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                    fields = handle.read().rpartition(")")[2].split()
            except OSError:
                continue
            if fields[0] != "Z":
                tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def _run_tree(jobdir: Path) -> set[int]:
    """The ansible-playbook process of a job (its command line names the job's directory) and its descendants."""
    roots = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    cmdline = handle.read()
            except OSError:
                continue
            if str(jobdir).encode() in cmdline and b"ansible-playbook" in cmdline:
                roots.append(int(entry))
    tree, found, todo = _children(), set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(tree.get(pid, []))
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
                if handle.read().rpartition(")")[2].split()[0] != "Z":
                    alive.add(pid)
        except OSError:
            continue
    return alive


def _wait_for_sleep(server: Server, job_id: str, timeout: float = 60) -> set[int]:
    """The run's process tree once its `sleep` (the seeding task) runs."""
    jobdir = server.data_dir / "jobs" / job_id
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = _run_tree(jobdir)
        for pid in pids:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as handle:
                    if handle.read().split(b"\0")[0].endswith(b"sleep"):
                        return pids
            except OSError:
                continue
        time.sleep(0.3)
    pytest.fail(f"the run of job {job_id} did not reach its sleep in {timeout} s:\n" + server.log.read_text()[-3000:])
    return set()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = Server(tmp_path_factory.mktemp("serve")).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def finished_job(server):
    """One onboarding run to the end, its event stream read in two connections (the second resuming)."""
    response = server.submit()
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    first = _events(server, job_id, stop_after=3)
    rest = _events(server, job_id, last_event_id=str(first[-1][0]))
    job = server.wait(job_id)
    exports = [server.get(f"/v1/jobs/{job_id}/exports") for _attempt in range(2)]
    return {"post": response, "id": job_id, "first": first, "rest": rest, "job": job, "exports": exports}


def test_signed_post_runs_the_job_to_successful(server, finished_job):
    body = finished_job["post"].json()
    assert body["urls"] == {"self": f"/v1/jobs/{body['id']}", "events": f"/v1/jobs/{body['id']}/events",
                            "cancel": f"/v1/jobs/{body['id']}/cancel", "exports": f"/v1/jobs/{body['id']}/exports"}
    assert finished_job["post"].headers["location"] == body["urls"]["self"]
    job = finished_job["job"]
    assert job["state"] == "successful", job
    assert job["rc"] == 0
    assert job["started"] and job["finished"] and job["created"] <= job["started"] <= job["finished"]
    assert job["recap"]["node1"]["failed"] == 0 and job["recap"]["node1"]["ok"] >= 4
    assert job["spec"]["coldrig_dns"] == {"provider": "cloudflare", "api_token": "********"}
    assert [row["id"] for row in server.get("/v1/jobs?state=successful").json()["jobs"]].count(body["id"]) == 1


def test_events_stream_over_sse_and_resume_with_last_event_id(finished_job):
    first, rest = finished_job["first"], finished_job["rest"]
    assert len(first) == 3
    ids = [event[0] for event in first + rest]
    assert ids == sorted(set(ids)), "event ids repeat or go back after the reconnect"
    assert rest[0][0] > first[-1][0]
    names = [event[1] for event in first + rest]
    assert names[0] == "playbook_on_start" and names[-1] == "job_finished"
    assert "playbook_on_task_start" in names
    seeding = [data for _event_id, name, data in rest if name == "runner_on_ok" and data.get("task", "").startswith("Seed")]
    assert seeding and seeding[0]["host"] == "node1" and seeding[0]["changed"] is True
    assert rest[-1][2]["state"] == "successful"


def test_the_job_shows_the_onboarding_summary_records_mailboxes_and_deliverability(finished_job):
    summary = finished_job["job"]["summary"]
    node = summary["nodes"]["node1"]
    assert list(summary["nodes"]) == ["node1"] and node["mail_host"] == "node1.serve.coldrig.test"
    zone = summary["zones"][0]
    assert zone["zone"] == "example.com" and (zone["answered"], zone["checked"]) == (3, 3)
    assert {"name": "example.com", "type": "MX", "content": "node1.serve.coldrig.test", "priority": 10,
            "ttl": 3600} in zone["records"]
    assert node["mailboxes"] == {"example.com": 5}
    check = node["deliverability"][0]
    assert check["domain"] == "example.com" and check["passed"] is True
    assert [item["check"] for item in check["checks"]] == ["tls", "dkim", "spf", "dmarc", "ptr_helo"]
    assert check["table"].startswith("CHECK     RESULT  REQUIRED  DETAIL")
    password = json.loads(finished_job["exports"][0].json()["files"][0]["content"])["mailboxes"][0]["password"]
    assert password not in json.dumps(summary) and DNS_TOKEN not in json.dumps(summary)


def test_exports_are_fetched_once_then_gone(finished_job):
    once, twice = finished_job["exports"]
    assert once.status_code == 200, once.text
    files = once.json()["files"]
    assert [item["path"] for item in files] == ["example.com/node1-mailboxes.json"]
    credentials = json.loads(files[0]["content"])
    assert credentials["mailboxes"][0]["email"] == "sender1@example.com"
    # The DNS token reached the run (the playbook hashed it), without being written anywhere.
    assert credentials["dns_token_sha256"] == hashlib.sha256(DNS_TOKEN.encode()).hexdigest()
    assert twice.status_code == 410 and "fetched already" in twice.json()["detail"]


def test_no_secret_in_the_log_the_store_or_the_runner_artifacts(server, finished_job):
    password = json.loads(finished_job["exports"][0].json()["files"][0]["content"])["mailboxes"][0]["password"]
    jobdir = server.data_dir / "jobs" / finished_job["id"]
    assert (jobdir / "artifacts" / finished_job["id"] / "job_events").is_dir()  # the grep has something to read
    assert not (jobdir / "spec.json").exists() and not (jobdir / "exports").exists()
    files = [server.log] + [path for path in server.data_dir.rglob("*") if path.is_file()]
    assert any(path.name == "jobs.sqlite3" for path in files)
    for secret in (SECRET, OLD_SECRET, DNS_TOKEN, password):
        leaks = [str(path) for path in files if secret.encode() in path.read_bytes()]
        assert not leaks, f"a secret is in {leaks}"


def test_an_old_secret_still_signs_during_a_rotation(server, finished_job):
    assert server.get(f"/v1/jobs/{finished_job['id']}", secret=OLD_SECRET).status_code == 200
    assert server.get(f"/v1/jobs/{finished_job['id']}", secret="x" * 48).status_code == 401


def _bad_requests(server: Server):
    good = json.dumps({"nodes": ["node1"], **SPEC}).encode()
    now = time.time()
    yield "unsigned", server.post_raw(good, {"Content-Type": "application/json"}), 401
    yield "wrong secret", server.post_raw(good, server.headers("POST", "/v1/onboardings", good, secret="y" * 48)), 401
    altered = good.replace(b"example.com", b"example.org")
    yield "body altered after signing", server.post_raw(altered, server.headers("POST", "/v1/onboardings", good)), 401
    yield "too old", server.post_raw(good, server.headers("POST", "/v1/onboardings", good, when=now - 310)), 401
    yield "from the future", server.post_raw(good, server.headers("POST", "/v1/onboardings", good, when=now + 310)), 401
    big = json.dumps({"nodes": ["node1"], **SPEC, "pad": "x" * (1024 * 1024)}).encode()
    yield "oversized", server.post_raw(big, server.headers("POST", "/v1/onboardings", big)), 413
    broken = b'{"nodes": ["node1"], "coldrig_domains": ['
    yield "malformed JSON", server.post_raw(broken, server.headers("POST", "/v1/onboardings", broken)), 400
    deep = b"[" * 100000 + b"]" * 100000
    yield "JSON nested too deep to parse", server.post_raw(deep, server.headers("POST", "/v1/onboardings", deep)), 400
    nested = json.dumps({"nodes": ["node1"], **SPEC, "coldrig_tls": json.loads("[" * 900 + "]" * 900)}).encode()
    yield "a spec nested 900 deep", server.post_raw(nested, server.headers("POST", "/v1/onboardings", nested)), 422


def test_bad_requests_get_a_4xx_and_create_no_job(server):
    before, dirs = server.job_count(), len(list((server.data_dir / "jobs").iterdir()))
    for name, response, status in _bad_requests(server):
        assert response.status_code == status, f"{name}: {response.status_code} {response.text}"
        assert "detail" in response.json(), name
    assert server.job_count() == before
    assert len(list((server.data_dir / "jobs").iterdir())) == dirs


def test_a_spec_with_errors_gets_422_naming_every_field_and_creates_no_job(server):
    before = server.job_count()
    body = json.dumps({
        "nodes": ["node1", "bad_node"], "on_busy": "sometimes", "colour": "red",
        "coldrig_domains": [{"name": "example.com", "mailboxes": 5000}, {"name": "bad_domain.com"}],
        "coldrig_backend": "exim", "coldrig_dns": {"provider": "route53"},
    }).encode()
    response = server.post_raw(body, server.headers("POST", "/v1/onboardings", body))
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    for field in ("nodes[1]: 'bad_node'", "on_busy: 'sometimes'", "body: unknown key(s) colour",
                  "coldrig_domains[0] (example.com).mailboxes: 5000", "coldrig_domains[1].name",
                  "coldrig_backend: 'exim'", "coldrig_dns.provider: 'route53'"):
        assert any(error.startswith(field) for error in errors), f"no error starts with {field!r}: {errors}"
    assert server.job_count() == before


def test_idempotency_key_returns_the_same_job_and_an_exact_replay_is_refused(server):
    key = "order-" + secrets.token_hex(8)
    body = json.dumps({"nodes": ["node2"], **SPEC}).encode()
    headers = {**server.headers("POST", "/v1/onboardings", body), "Idempotency-Key": key}
    first = server.post_raw(body, headers)
    assert first.status_code == 202 and first.json()["created"] is True
    before = server.job_count()
    replay = server.post_raw(body, headers)  # the same bytes and signature inside the window
    assert replay.status_code == 401 and "used already" in replay.json()["detail"]
    time.sleep(1.1)  # a retry signs afresh
    retry = server.post_raw(body, {**server.headers("POST", "/v1/onboardings", body), "Idempotency-Key": key})
    assert retry.status_code == 202, retry.text
    assert retry.json()["id"] == first.json()["id"] and retry.json()["created"] is False
    other = json.dumps({"nodes": ["node2"], **SPEC, "coldrig_backend": "postfix", "on_busy": "wait"}).encode()
    reused = server.post_raw(other, {**server.headers("POST", "/v1/onboardings", other), "Idempotency-Key": key})
    assert reused.status_code == 409
    assert server.job_count() == before
    assert server.cancel(first.json()["id"]).status_code == 202
    assert server.wait(first.json()["id"], timeout=20)["state"] == "canceled"


def test_two_jobs_for_the_same_node_are_serialised_and_on_busy_refuse_gets_409(server):
    slow = {"coldrig_domains": [{"name": "example.com", "mailboxes": 20}]}
    first = server.submit(nodes=["node2"], **slow).json()["id"]
    second_response = server.submit(nodes=["node2"])
    assert second_response.status_code == 202, second_response.text
    second = second_response.json()["id"]
    refused = server.submit(nodes=["node2"], on_busy="refuse")
    assert refused.status_code == 409 and "node2" in refused.json()["detail"]
    assert server.job(second)["state"] == "queued"
    done_first, done_second = server.wait(first), server.wait(second)
    assert done_first["state"] == done_second["state"] == "successful"
    assert done_second["started"] >= done_first["finished"]


def test_100_concurrent_status_polls_and_event_streams_while_a_job_runs(server):
    job_id = server.submit(coldrig_domains=[{"name": "example.com", "mailboxes": 40}]).json()["id"]
    server.wait(job_id, states={"running"})

    async def poll(client):
        path = f"/v1/jobs/{job_id}"
        return (await client.get(path, headers=server.headers("GET", path))).status_code

    async def stream(client):
        path = f"/v1/jobs/{job_id}/events"
        async with client.stream("GET", path, headers=server.headers("GET", path)) as response:
            async for line in response.aiter_lines():
                if line.startswith("id: "):
                    return response.status_code
        return -1

    async def load():
        limits = httpx.Limits(max_connections=250, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=60) as client:
            return await asyncio.wait_for(
                asyncio.gather(*[poll(client) for _poll in range(100)], *[stream(client) for _stream in range(100)]), 90)

    started = time.monotonic()
    statuses = asyncio.run(load())
    assert statuses == [200] * 200, sorted(set(statuses))
    assert time.monotonic() - started < 90
    assert server.job(job_id)["state"] in {"running", "successful"}
    assert server.wait(job_id)["state"] == "successful"


def test_cancel_ends_the_runs_process_tree(server):
    job_id = server.submit(coldrig_domains=[{"name": "example.com", "mailboxes": 600}]).json()["id"]
    tree = _wait_for_sleep(server, job_id)
    response = server.cancel(job_id)
    assert response.status_code == 202
    job = server.wait(job_id, timeout=20)
    assert job["state"] == "canceled", job
    deadline = time.monotonic() + 5
    while _alive(tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(tree), f"processes of the canceled run still alive: {_alive(tree)}"
    assert not (server.data_dir / "jobs" / job_id / "spec.json").exists()


@pytest.fixture(scope="module")
def restarted(tmp_path_factory):
    """A server killed with SIGKILL while its job's `sleep` runs, then started again (with job_timeout 6 s)."""
    server = Server(tmp_path_factory.mktemp("killed")).start()
    try:
        job_id = server.submit(coldrig_domains=[{"name": "example.com", "mailboxes": 600}]).json()["id"]
        tree = _wait_for_sleep(server, job_id)
        server.kill9()
        server.start(job_timeout="6")
        yield server, job_id, tree
    finally:
        server.stop()


def test_a_server_killed_mid_job_marks_it_interrupted_on_restart(restarted):
    server, job_id, tree = restarted
    job = server.job(job_id)
    assert job["state"] == "interrupted", job
    assert job["finished"] and "server stopped during the run" in job["explanation"]
    assert not _alive(tree), f"processes of the interrupted run still alive: {_alive(tree)}"
    assert not (server.data_dir / "jobs" / job_id / "spec.json").exists()
    assert [row["id"] for row in server.get("/v1/jobs").json()["jobs"]] == [job_id]  # not lost, not doubled
    events = _events(server, job_id)
    assert events[-1][1] == "job_finished" and events[-1][2]["state"] == "interrupted"


def test_a_run_longer_than_job_timeout_is_ended(restarted):
    server = restarted[0]
    job_id = server.submit(coldrig_domains=[{"name": "example.com", "mailboxes": 600}]).json()["id"]
    job = server.wait(job_id, timeout=40)
    assert job["state"] == "timeout" and "job_timeout (6 s)" in job["explanation"], job
    assert not _run_tree(server.data_dir / "jobs" / job_id)


class _Receiver(http.server.ThreadingHTTPServer):
    """A callback receiver on 127.0.0.1 that answers 503 to its first POST and 200 to the next ones."""

    def __init__(self):
        self.posts: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.posts.append((dict(self.headers), body))
                self.send_response(503 if len(receiver.posts) == 1 else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


def test_a_callback_url_gets_the_signed_exports_with_a_retry_and_they_are_deleted(server):
    receiver = _Receiver()
    url_token = "cb-" + secrets.token_hex(12)
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hooks/coldrig?token={url_token}"
    try:
        response = server.submit(nodes=["node1"], callback_url=url)
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        job = server.wait(job_id)
        deadline = time.monotonic() + 30
        while (len(receiver.posts) < 2 or server.job(job_id)["exports"] != "delivered") and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        receiver.shutdown()
        receiver.server_close()
    assert job["state"] == "successful", job
    assert len(receiver.posts) == 2, receiver.posts  # the first answered 503, the second taken
    for headers, body in receiver.posts:
        stamp, digest = dict(part.split("=", 1) for part in headers["X-Coldrig-Signature"].split(",")).values()
        expected = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(digest, expected) and abs(time.time() - int(stamp)) < 60
        assert headers["X-Coldrig-Job"] == job_id
    delivered = json.loads(receiver.posts[1][1])
    assert delivered["id"] == job_id and delivered["state"] == "successful"
    assert [item["path"] for item in delivered["files"]] == ["example.com/node1-mailboxes.json"]
    password = json.loads(delivered["files"][0]["content"])["mailboxes"][0]["password"]
    assert server.job(job_id)["exports"] == "delivered"
    again = server.get(f"/v1/jobs/{job_id}/exports")
    assert again.status_code == 410 and "delivered to the callback URL" in again.json()["detail"]
    jobdir = server.data_dir / "jobs" / job_id
    assert not (jobdir / "exports").exists() and not (jobdir / "exports.delivering").exists()
    assert not (jobdir / "callback.json").exists()
    files = [server.log] + [path for path in server.data_dir.rglob("*") if path.is_file()]
    for secret in (password, url_token):
        assert not [str(path) for path in files if secret.encode() in path.read_bytes()], secret


def test_a_bad_callback_url_gets_422_without_echoing_it(server):
    body = json.dumps({"nodes": ["node1"], **SPEC, "callback_url": "ftp://user:pw@example.com/x"}).encode()
    response = server.post_raw(body, server.headers("POST", "/v1/onboardings", body))
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == ["callback_url: is not an http(s) URL with a host"]
    assert "pw@" not in response.text


def _chromium_dom(url: str, budget_ms: int = 40000) -> str:
    """The DOM of ``url`` in headless Chromium (Debian's chromium) after ``budget_ms`` of virtual time."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (scripts/install-debian-packages installs it)")
    result = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             f"--virtual-time-budget={budget_ms}", "--dump-dom", url],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_the_job_page_in_a_real_browser_shows_events_that_came_after_it_loaded(server):
    job_id = server.submit(nodes=["node1"], coldrig_domains=[{"name": "example.com", "mailboxes": 50}]).json()["id"]
    _wait_for_sleep(server, job_id)  # the run is in its 5 s seeding: the stats and the end are still to come
    page = server.job(job_id)["urls"]["page"]
    assert page.startswith(f"/v1/jobs/{job_id}/page?exp=")
    dom = _chromium_dom(server.url + page)
    rendered_after = int(re.search(r'id="log" data-rendered-after="(\d+)"', dom).group(1))
    lines = re.findall(r'<li data-id="(\d+)" data-event="(\w+)">([^<]*)</li>', dom)
    assert lines, dom[-3000:]
    later = [(int(event_id), name, text) for event_id, name, text in lines if int(event_id) > rendered_after]
    names = [name for _id, name, _text in later]
    # Events the server had not yet when it rendered the page came through EventSource, to the end.
    assert "playbook_on_stats" in names and names[-1] == "job_finished", lines
    assert later[-1][2].endswith("job_finished successful")
    assert '<strong id="state">successful</strong>' in dom
    assert "Seed the mailboxes" in dom
    # The page was rendered while the job ran: no recap or deliverability table in its HTML yet.
    assert "not yet: the recap comes when the run ends" in dom


def test_the_job_page_is_refused_without_a_valid_signed_url(server, finished_job):
    job_id = finished_job["id"]
    page = server.job(job_id)["urls"]["page"]
    assert httpx.get(server.url + page, timeout=10).status_code == 200
    other = server.job(finished_job["id"])["urls"]["page"].replace(job_id, "0" * 32)
    tampered = re.sub(r"sig=([0-9a-f])", lambda m: "sig=" + ("1" if m.group(1) != "1" else "2"), page)
    expired = re.sub(r"exp=\d+", f"exp={int(time.time()) - 1}", page)
    for url in (f"/v1/jobs/{job_id}/page", tampered, expired, other,
                f"/v1/jobs/{job_id}/events?exp=1&sig=00"):
        response = httpx.get(server.url + url, timeout=10)
        assert response.status_code == 401, (url, response.status_code)
    finished = httpx.get(server.url + page, timeout=10)
    assert "Deliverability" in finished.text and "<td>ptr_helo</td>" in finished.text
    assert "default-src 'none'" in finished.headers["content-security-policy"]
    sig = re.search(r"sig=([0-9a-f]+)", page).group(1)
    assert sig not in server.log.read_text() and "sig=****" in server.log.read_text()


def test_metrics_and_healthz(server):
    health = httpx.get(server.url + "/healthz", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    metrics = httpx.get(server.url + "/metrics", timeout=10).text
    assert 'coldrig_serve_jobs{state="successful"}' in metrics
    assert "coldrig_serve_queue_depth " in metrics
    assert 'coldrig_serve_job_duration_seconds_count{state="successful"}' in metrics


def test_the_post_endpoint_answers_no_5xx_to_generated_bodies(server):
    hypothesis = pytest.importorskip("hypothesis")
    strategies = hypothesis.strategies
    scalars = strategies.none() | strategies.booleans() | strategies.integers(-2**40, 2**40) | \
        strategies.floats(allow_nan=False) | strategies.text(max_size=30)
    values = strategies.recursive(scalars, lambda inner: strategies.lists(inner, max_size=4) |
                                  strategies.dictionaries(strategies.text(max_size=12), inner, max_size=4),
                                  max_leaves=12)
    keys = strategies.sampled_from(["nodes", "inventory", "on_busy", "coldrig_domains", "coldrig_backend",
                                    "coldrig_dns", "coldrig_tls", "other"])
    bodies = strategies.dictionaries(keys, values, max_size=6) | values
    statuses = []
    client = httpx.Client(base_url=server.url, timeout=30)

    @hypothesis.settings(max_examples=60, deadline=None, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(body=bodies, signed=strategies.booleans(),
                      header=strategies.text(strategies.characters(min_codepoint=32, max_codepoint=126), max_size=80).map(str.strip))
    def post(body, signed, header):
        data = json.dumps(body).encode()
        headers = server.headers("POST", "/v1/onboardings", data) if signed else {"X-Coldrig-Signature": header}
        response = client.post("/v1/onboardings", content=data, headers=headers)
        statuses.append(response.status_code)
        assert response.status_code < 500, (body, response.text)

    with client:
        post()  # pylint: disable=no-value-for-parameter
    assert len(statuses) >= 30


def test_a_server_stopped_with_sigterm_ends_its_run_as_interrupted(restarted):
    server = restarted[0]
    server.stop()
    server.start()  # job_timeout back to the settings file's 120 s
    job_id = server.submit(coldrig_domains=[{"name": "example.com", "mailboxes": 600}]).json()["id"]
    tree = _wait_for_sleep(server, job_id)
    server.stop()
    # uvicorn re-raises SIGTERM once it has shut down cleanly: the exit status is -15 either way.
    assert "Application shutdown complete" in server.log.read_text()
    assert not _alive(tree), f"processes of the run still alive after the server stopped: {_alive(tree)}"
    server.start()
    job = server.job(job_id)
    assert job["state"] == "interrupted" and job["explanation"] == "the server stopped during the run", job
