"""Benchmark: `coldrig serve` on loopback -- job start latency, status poll throughput, event lag.

Starts the real server (`python -m coldrig.cli serve --config FILE`, uvicorn, the SQLite store,
ansible-runner) on a free 127.0.0.1 port with a temporary data dir and the playbook of its
integration test, tests/support/serve/onboard.yml (the real spec check of check.yml, then real
tasks on localhost for the inventory tests/support/serve/inventory.yml; no lab VM), and measures:

  - signed-POST-to-job-started latency, over --jobs jobs run one after the other (node1, one
    mailbox): from sending the signed POST /v1/onboardings until a GET /v1/jobs/{id} (polled
    every 20 ms) shows the state `running`, and until the first runner event arrives over the
    job's SSE stream (opened right after the 202); median and p95;
  - status poll throughput: --clients concurrent clients (threads, one HTTP connection each)
    sending signed GET /v1/jobs/{id} for --seconds while a job runs (node2, its seeding `sleep`
    lasting the whole window); requests per second and errors (non-200 answers or exceptions);
  - event delivery lag: for every event of every job's SSE stream read above, its arrival time
    at the client minus its creation time (the runner event's `created`; the server's own time
    for `job_finished`); median, p95, max. Client and server share this machine's clock. The
    server looks for new events every 0.2 s (SSE_POLL in src/coldrig/serve/app.py), which
    bounds the lag from below.

The HMAC secret and the DNS token are random per run and never printed; the server's log stays
in the temporary directory, which is removed at the end (also on errors and Ctrl-C), after the
server is stopped (SIGTERM, then SIGKILL after 15 s). Every wait has a timeout.

Usage, from anywhere (uses the checkout's .venv):

  .venv/bin/python bench/serve.py [--jobs 10] [--clients 20] [--seconds 5] [--json FILE]

Exit status: 0 when every job ended `successful` and no poll failed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from coldrig.serve.auth import sign  # noqa: E402  pylint: disable=wrong-import-position

PYTHON = REPO / ".venv" / "bin" / "python"
FINISHED = {"successful", "failed", "canceled", "timeout", "interrupted", "error"}
JOB_TIMEOUT = 120


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    """Nearest-rank percentile."""
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _created(value: Any) -> float | None:
    """Epoch seconds of an event's `created`: a float (job_finished) or runner's ISO time (UTC when naive)."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value)
        except ValueError:
            return None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=timezone.utc)
        return stamp.timestamp()
    return None


class Server:
    """`coldrig serve` with a TOML config, its secrets in the environment, its log in the temp dir."""

    def __init__(self, base: Path):
        self.base = base
        self.secret = "bench-hmac-" + secrets.token_hex(20)
        self.dns_token = "bench-dns-" + secrets.token_hex(16)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = base / "server.log"
        self.config = base / "serve.toml"
        self.config.write_text(
            "[serve]\n"
            f'bind = "127.0.0.1:{self.port}"\n'
            f'data_dir = "{base / "data"}"\n'
            f'project_dir = "{REPO}"\n'
            'playbook = "tests/support/serve/onboard.yml"\n'
            "concurrency = 2\n"
            f"job_timeout = {JOB_TIMEOUT}\n"
            'default_inventory = "test"\n'
            "[serve.inventories]\n"
            'test = "tests/support/serve/inventory.yml"\n', encoding="utf-8")
        self.process: subprocess.Popen | None = None

    def redacted_log_tail(self, chars: int = 3000) -> str:
        text = self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""
        return text.replace(self.secret, "<hmac secret>").replace(self.dns_token, "<dns token>")

    def start(self) -> None:
        env = dict(os.environ)
        env.update({
            "PYTHONPATH": str(REPO / "src"),
            "COLDRIG_SERVE_SECRETS": self.secret,
            "PATH": f"{PYTHON.parent}{os.pathsep}{env.get('PATH', '')}",
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_HOME": str(self.base / "ansible-home"),
        })
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(  # pylint: disable=consider-using-with
                [str(PYTHON), "-m", "coldrig.cli", "serve", "--config", str(self.config)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=self.base,
                start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("coldrig serve exited:\n" + self.redacted_log_tail())
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("coldrig serve did not answer /healthz in 30 s:\n" + self.redacted_log_tail())

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)

    def headers(self, method: str, path: str, body: bytes = b"") -> dict[str, str]:
        return {"X-Coldrig-Signature": sign(self.secret, int(time.time()), body, method, path),
                "Content-Type": "application/json"}

    def submit(self, client: httpx.Client, node: str, mailboxes: int) -> str:
        body = json.dumps({
            "nodes": [node],
            "coldrig_domains": [{"name": "example.com", "mailboxes": mailboxes}],
            "coldrig_backend": "postfix",
            "coldrig_dns": {"provider": "cloudflare", "api_token": self.dns_token},
        }).encode()
        response = client.post(self.url + "/v1/onboardings", content=body,
                               headers=self.headers("POST", "/v1/onboardings", body), timeout=30)
        if response.status_code != 202:
            raise RuntimeError(f"POST /v1/onboardings answered {response.status_code}: {response.text[:500]}")
        return response.json()["id"]

    def job(self, client: httpx.Client, job_id: str) -> dict:
        path = f"/v1/jobs/{job_id}"
        response = client.get(self.url + path, headers=self.headers("GET", path), timeout=30)
        response.raise_for_status()
        return response.json()

    def wait(self, client: httpx.Client, job_id: str, states, timeout: float, interval: float = 0.3) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.job(client, job_id)
            if job["state"] in states:
                return job
            time.sleep(interval)
        raise RuntimeError(f"job {job_id} not in {sorted(states)} after {timeout} s:\n" + self.redacted_log_tail())


def read_events(server: Server, job_id: str, out: dict) -> None:
    """Read the job's SSE stream to job_finished; per event (name, created epoch, arrival epoch, arrival monotonic)."""
    path = f"/v1/jobs/{job_id}/events"
    events, current = [], {}
    try:
        with httpx.stream("GET", server.url + path, headers=server.headers("GET", path),
                          timeout=httpx.Timeout(JOB_TIMEOUT, connect=10)) as response:
            if response.status_code != 200:
                raise RuntimeError(f"GET {path} answered {response.status_code}")
            for line in response.iter_lines():
                if line.startswith(("id: ", "event: ", "data: ")):
                    key, _sep, value = line.partition(": ")
                    current[key] = value
                elif not line and "id" in current:
                    arrival, arrival_mono = time.time(), time.monotonic()
                    data = json.loads(current["data"])
                    events.append((current["event"], _created(data.get("created")), arrival, arrival_mono))
                    current = {}
                    if events[-1][0] == "job_finished":
                        break
    except Exception as exc:  # pylint: disable=broad-except  # reported by the caller
        out["error"] = f"{type(exc).__name__}: {exc}"
    out["events"] = events


def measure_start(server: Server, jobs: int) -> tuple[list[float], list[float], list[float], list[str]]:
    """Jobs one after the other: POST->running, POST->first runner event, every event's lag, final states."""
    to_running, to_event, lags, states = [], [], [], []
    with httpx.Client() as client:
        for _job in range(jobs):
            start = time.monotonic()
            job_id = server.submit(client, "node1", 1)
            stream: dict = {}
            reader = threading.Thread(target=read_events, args=(server, job_id, stream), daemon=True)
            reader.start()
            server.wait(client, job_id, {"running"} | FINISHED, timeout=60, interval=0.02)
            to_running.append(time.monotonic() - start)
            reader.join(JOB_TIMEOUT + 10)
            if reader.is_alive() or "error" in stream:
                raise RuntimeError(f"job {job_id}: event stream {stream.get('error', 'did not end')}")
            runner_events = [e for e in stream["events"] if e[0] != "job_finished"]
            if runner_events:
                to_event.append(runner_events[0][3] - start)
            lags.extend(arrival - created for _name, created, arrival, _mono in stream["events"] if created is not None)
            states.append(server.wait(client, job_id, FINISHED, timeout=JOB_TIMEOUT)["state"])
    return to_running, to_event, lags, states


def measure_polls(server: Server, clients: int, seconds: float) -> dict:
    """K clients polling GET /v1/jobs/{id} for T seconds while a job's seeding runs."""
    with httpx.Client() as client:
        # 10 mailboxes per second of seeding: keep the job running for the whole window and then some.
        job_id = server.submit(client, "node2", int((seconds + 15) * 10))
        server.wait(client, job_id, {"running"} | FINISHED, timeout=60, interval=0.05)
        path = f"/v1/jobs/{job_id}"
        counts = [[0, 0] for _client in range(clients)]
        barrier = threading.Barrier(clients + 1)
        deadline = [0.0]

        def poll(slot: list[int]) -> None:
            with httpx.Client(timeout=10) as own:
                barrier.wait(30)
                while time.monotonic() < deadline[0]:
                    try:
                        response = own.get(server.url + path, headers=server.headers("GET", path))
                        ok = response.status_code == 200 and response.json().get("id") == job_id
                    except (httpx.HTTPError, ValueError):
                        ok = False
                    slot[0 if ok else 1] += 1

        threads = [threading.Thread(target=poll, args=(slot,), daemon=True) for slot in counts]
        for thread in threads:
            thread.start()
        deadline[0] = time.monotonic() + seconds
        began = time.monotonic()
        barrier.wait(30)
        for thread in threads:
            thread.join(seconds + 20)
        elapsed = time.monotonic() - began
        state_after = server.job(client, job_id)["state"]
        final = server.wait(client, job_id, FINISHED, timeout=JOB_TIMEOUT)["state"]
    ok = sum(slot[0] for slot in counts)
    errors = sum(slot[1] for slot in counts)
    return {"clients": clients, "seconds": round(elapsed, 2), "requests": ok + errors, "ok": ok, "errors": errors,
            "rps": round(ok / elapsed, 1), "job_state_after_window": state_after, "job_final_state": final,
            "stuck_threads": sum(thread.is_alive() for thread in threads)}


def _summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {"n": len(values), "median_ms": round(statistics.median(values) * 1000, 1),
            "p95_ms": round(_pct(values, 0.95) * 1000, 1), "max_ms": round(max(values) * 1000, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--jobs", type=int, default=10, help="jobs for the start latency and event lag (1-100)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent status pollers (1-200)")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the poll window (1-60)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if not (1 <= args.jobs <= 100 and 1 <= args.clients <= 200 and 1 <= args.seconds <= 60):
        parser.error("--jobs 1-100, --clients 1-200, --seconds 1-60")

    base = Path(tempfile.mkdtemp(prefix="coldrig-bench-serve-"))
    server = Server(base)
    try:
        server.start()
        to_running, to_event, lags, states = measure_start(server, args.jobs)
        polls = measure_polls(server, args.clients, args.seconds)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 1
    except (RuntimeError, httpx.HTTPError) as exc:
        print(f"bench/serve.py: {exc}", file=sys.stderr)
        return 1
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)

    figures = {
        "jobs": args.jobs, "job_states": {state: states.count(state) for state in sorted(set(states))},
        "post_to_running": _summary(to_running), "post_to_first_event": _summary(to_event),
        "event_lag": _summary(lags), "status_polls": polls,
    }
    print(f"coldrig serve on 127.0.0.1 (uvicorn, SQLite, ansible-runner; {args.jobs} jobs of "
          "tests/support/serve/onboard.yml, one after the other)")
    print(f"  job states:                       {figures['job_states']}")
    for label, key in (("signed POST -> state running", "post_to_running"),
                       ("signed POST -> first SSE event", "post_to_first_event"),
                       ("event delivery lag (all events)", "event_lag")):
        item = figures[key]
        print(f"  {label:33s} n={item['n']:<4d} median {item.get('median_ms', 0):8.1f} ms   "
              f"p95 {item.get('p95_ms', 0):8.1f} ms   max {item.get('max_ms', 0):8.1f} ms")
    print(f"  status polls (GET /v1/jobs/{{id}}): {polls['clients']} clients x {polls['seconds']} s: "
          f"{polls['requests']} requests, {polls['rps']} req/s, {polls['errors']} errors "
          f"(job {polls['job_state_after_window']} at the end of the window, then {polls['job_final_state']})")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    good = (all(state == "successful" for state in states) and polls["errors"] == 0
            and polls["job_final_state"] == "successful" and polls["stuck_threads"] == 0)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
