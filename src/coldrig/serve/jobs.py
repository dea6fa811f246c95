"""Jobs of ``coldrig serve``: a bounded worker pool, per-node locks and one run per job.

Each job has its own directory, ``<data_dir>/jobs/<id>``:

    spec.json        the onboarding spec with its secrets, mode 0600, removed when the run ends
    exports/         what the playbooks export (credentials files), fetched once, then deleted

The run itself goes to the dispatcher the settings name (dispatch/: ansible-runner on this
machine, or an AWX job template); its events, states and recap come back the same way from both.

A job waits while another job holds one of its nodes; jobs start in the order they came, except
that a job whose nodes are all free may start before an older one that waits for its nodes.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import stat
import threading
import time
import uuid
from pathlib import Path

from coldrig.serve import callback, dispatch as dispatchers
from coldrig.serve.store import FINISHED, Store

LOG = logging.getLogger("coldrig.serve")

KEPT_EVENTS = frozenset({
    "playbook_on_start", "playbook_on_play_start", "playbook_on_task_start", "runner_on_ok", "runner_on_failed",
    "runner_on_unreachable", "runner_on_skipped", "playbook_on_stats",
})

SUMMARY_KEY = "coldrig_summary"  # what playbooks/summary.yml gives set_stats


class Busy(Exception):
    """A node of the request is held by a queued or running job and the request said on_busy: refuse."""


class Conflict(Exception):
    """An Idempotency-Key already names a job made from another body."""


class NotFound(Exception):
    pass


class Gone(Exception):
    pass


class NotReady(Exception):
    pass


def _recap(stats: dict | None) -> dict:
    if not stats:
        return {}
    columns = (("ok", "ok"), ("changed", "changed"), ("failed", "failures"), ("unreachable", "dark"),
               ("skipped", "skipped"), ("rescued", "rescued"), ("ignored", "ignored"))
    hosts = set(stats.get("processed", {}))
    for _column, key in columns:
        hosts.update(stats.get(key) or {})
    return {host: {name: int((stats.get(key) or {}).get(host, 0)) for name, key in columns} for host in sorted(hosts)}


def _event_summary(event: dict) -> dict:
    data = event.get("event_data") or {}
    item = {"event": event.get("event"), "created": event.get("created")}
    for key in ("play", "task", "host", "role", "task_action"):
        if data.get(key):
            item[key] = data[key]
    res = data.get("res") if isinstance(data.get("res"), dict) else {}
    if event.get("event") == "runner_on_ok":
        item["changed"] = bool(res.get("changed"))
    if event.get("event") in ("runner_on_failed", "runner_on_unreachable") and "censored" not in res:
        item["msg"] = str(res.get("msg", ""))[:2000]
    return item


class _Run:
    def __init__(self):
        self.cancel = False


class JobManager:
    def __init__(self, config, store: Store, dispatcher: dispatchers.Dispatcher | None = None):
        self.config = config
        self.store = store
        self.dispatcher = dispatcher or dispatchers.make(config)
        self.deliverer = callback.Deliverer(config)
        self.jobs_dir = Path(config.data_dir) / "jobs"
        self.jobs_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._cond = threading.Condition()
        self._pending: list[str] = []
        self._nodes: dict[str, frozenset[str]] = {}
        self._running: dict[str, _Run] = {}
        self._stopping = False
        self._threads: list[threading.Thread] = []

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> None:
        self._recover()
        for target, name in ((self._dispatch, "coldrig-dispatch"), (self._janitor, "coldrig-janitor")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10) -> None:
        """End the runs (they become ``interrupted``) and wait up to ``timeout`` s for them to be recorded."""
        with self._cond:
            self._stopping = True
            for run in self._running.values():
                run.cancel = True
            self._cond.notify_all()
            self._cond.wait_for(lambda: not self._running, timeout=timeout)

    def jobdir(self, job_id: str) -> Path:
        return self.jobs_dir / job_id

    def _recover(self) -> None:
        """Jobs the last server left: running ones are interrupted, queued ones queue again."""
        now = time.time()
        for job in self.store.unfinished():
            jobdir = self.jobdir(job["id"])
            spec = jobdir / "spec.json"
            if job["state"] == "queued" and spec.exists():
                self._pending.append(job["id"])
                self._nodes[job["id"]] = frozenset(job["nodes"])
                continue
            note = self.dispatcher.recover(job["id"], jobdir)
            spec.unlink(missing_ok=True)
            why = "the server stopped during the run" if job["state"] == "running" else \
                "the server stopped before the run and its spec was gone"
            if note:
                why += f"; {note}"
            self.store.update(job["id"], state="interrupted", finished=now, explanation=why,
                              exports="ready" if self._has_exports(jobdir) else "none")
            self._final_event(job["id"], "interrupted", None)
            LOG.warning("job %s: interrupted (%s)", job["id"], why)

    # -- submission -------------------------------------------------------------------------
    def _claimed(self) -> set[str]:
        claimed: set[str] = set()
        for nodes in self._nodes.values():
            claimed |= nodes
        return claimed

    def submit(self, *, spec: dict, masked_spec: dict, nodes: list[str], inventory: str, on_busy: str,
               idempotency_key: str | None, body_sha256: str, callback_url: str | None = None) -> tuple[dict, bool]:
        with self._cond:
            if idempotency_key:
                existing = self.store.by_idempotency_key(idempotency_key)
                if existing is not None:
                    if existing["body_sha256"] != body_sha256:
                        raise Conflict(idempotency_key)
                    return existing, False
            if on_busy == "refuse":
                busy = sorted(set(nodes) & self._claimed())
                if busy:
                    raise Busy(busy)
            job_id = uuid.uuid4().hex
            jobdir = self.jobdir(job_id)
            jobdir.mkdir(mode=0o700)
            spec_file = jobdir / "spec.json"
            descriptor = os.open(spec_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(spec, handle)
                handle.flush()
                os.fsync(handle.fileno())
            if callback_url:
                callback.save(jobdir, callback_url)
            job, created = self.store.insert({
                "id": job_id, "state": "queued", "created": time.time(), "inventory": inventory,
                "nodes": list(nodes), "playbook": self.config.playbook, "spec": masked_spec,
                "idempotency_key": idempotency_key, "body_sha256": body_sha256,
            })
            if not created:  # another server process on the same store took the key first
                shutil.rmtree(jobdir, ignore_errors=True)
                return job, False
            self._pending.append(job_id)
            self._nodes[job_id] = frozenset(nodes)
            self._cond.notify_all()
        LOG.info("job %s: queued for %s on %s", job_id, ", ".join(nodes), inventory)
        return job, True

    def cancel(self, job_id: str) -> dict:
        with self._cond:
            job = self.store.get(job_id)
            if job is None:
                raise NotFound(job_id)
            if job_id in self._pending:
                self._pending.remove(job_id)
                self._nodes.pop(job_id, None)
                (self.jobdir(job_id) / "spec.json").unlink(missing_ok=True)
                self.store.finish_if(job_id, ("queued",), state="canceled", finished=time.time(),
                                     explanation="canceled before it started")
                self._final_event(job_id, "canceled", None)
                self._cond.notify_all()
                LOG.info("job %s: canceled while queued", job_id)
            elif job_id in self._running:
                self._running[job_id].cancel = True
                LOG.info("job %s: cancel requested", job_id)
        return self.store.get(job_id)

    def queue_depth(self) -> int:
        with self._cond:
            return len(self._pending)

    def running_count(self) -> int:
        with self._cond:
            return len(self._running)

    def node_holder(self, job_id: str) -> bool:
        with self._cond:
            return job_id in self._nodes

    # -- scheduling -------------------------------------------------------------------------
    def _next(self) -> str | None:
        if len(self._running) >= self.config.concurrency:
            return None
        blocked: set[str] = set()
        for job_id in self._running:
            blocked |= self._nodes[job_id]
        for job_id in self._pending:
            nodes = self._nodes[job_id]
            if nodes & blocked:
                blocked |= nodes  # younger jobs on these nodes wait behind this one
                continue
            return job_id
        return None

    def _dispatch(self) -> None:
        while True:
            with self._cond:
                job_id = self._next()
                while job_id is None and not self._stopping:
                    self._cond.wait()
                    job_id = self._next()
                if self._stopping:
                    return
                self._pending.remove(job_id)
                self._running[job_id] = run = _Run()
            threading.Thread(target=self._run, args=(job_id, run), name=f"coldrig-job-{job_id[:8]}",
                             daemon=True).start()

    # -- one run ----------------------------------------------------------------------------
    def _has_exports(self, jobdir: Path) -> bool:
        exports = jobdir / "exports"
        return exports.is_dir() and any(path.is_file() for path in exports.rglob("*"))

    def _final_event(self, job_id: str, state: str, rc) -> None:
        self.store.add_event(job_id, self.store.last_event(job_id) + 1, "job_finished",
                             {"event": "job_finished", "state": state, "rc": rc, "created": time.time()})

    def _run(self, job_id: str, run: _Run) -> None:
        jobdir = self.jobdir(job_id)
        spec_file = jobdir / "spec.json"
        state, rc, recap, explanation, summary = "error", None, {}, None, None
        if not self.store.finish_if(job_id, ("queued",), state="running", started=time.time()):
            self._release(job_id)  # not queued any more: nothing to run
            return
        try:
            job = self.store.get(job_id)
            LOG.info("job %s: running (%s)", job_id, self.dispatcher.name)

            def on_event(event):
                if event.get("event") in KEPT_EVENTS and isinstance(event.get("counter"), int):
                    self.store.add_event(job_id, event["counter"], event["event"], _event_summary(event))

            outcome = self.dispatcher.run(job, jobdir, spec_file, on_event, lambda: run.cancel)
            state, rc, recap, explanation = outcome.state, outcome.rc, _recap(outcome.stats), outcome.explanation
            summary = (outcome.artifacts or {}).get(SUMMARY_KEY)
            if state == "timeout":
                explanation = f"ended after job_timeout ({self.config.job_timeout} s)"
            elif state == "canceled" and self._stopping:
                state, explanation = "interrupted", "the server stopped during the run"
            elif state == "canceled":
                explanation = "canceled while running"
        except Exception as exc:  # pylint: disable=broad-except
            # The spec and its secrets are never part of this message: it comes from the dispatcher's setup.
            explanation = f"the run could not start: {type(exc).__name__}"
            LOG.exception("job %s: the run could not start", job_id)
        finally:
            spec_file.unlink(missing_ok=True)
            self.dispatcher.cleanup(job_id, jobdir)
            self.store.finish_if(job_id, ("running",), state=state, finished=time.time(), rc=rc,
                                 recap=json.dumps(recap, sort_keys=True), explanation=explanation,
                                 summary=json.dumps(summary, sort_keys=True) if isinstance(summary, dict) else None,
                                 exports="ready" if self._has_exports(jobdir) else "none")
            self._final_event(job_id, state, rc)
            LOG.info("job %s: %s (rc %s)", job_id, state, rc)
            self._release(job_id)
        self._deliver(job_id)

    def _deliver(self, job_id: str) -> None:
        """POST the finished job's exports to its callback URL (callback.py); delivered, they are deleted."""
        jobdir = self.jobdir(job_id)
        url = callback.load(jobdir)
        if url is None:
            return
        exports, sending = jobdir / "exports", jobdir / "exports.delivering"
        with self._cond:
            job = self.store.get(job_id)
            ready = job["exports"] == "ready"
            if ready:
                os.rename(exports, sending)
                self.store.update(job_id, exports="delivering")
        files = self._files_of(sending) if ready else []
        body = json.dumps({"id": job_id, "state": job["state"], "files": files}).encode()
        try:
            attempts = self.deliverer.deliver(url, job_id, body)
        except Exception as exc:  # pylint: disable=broad-except  # a delivery error, or the policy giving up
            LOG.warning("job %s: the callback to %s failed after %s attempt(s) (%s); the exports stay "
                        "fetchable once", job_id, callback.where(url), getattr(exc, "attempts", 1),
                        exc if isinstance(exc, callback.DeliveryError) else type(exc).__name__)
            if ready:
                with self._cond:
                    os.rename(sending, exports)
                    self.store.update(job_id, exports="ready")
        else:
            LOG.info("job %s: %d export file(s) delivered to %s in %d attempt(s) and deleted", job_id, len(files),
                     callback.where(url), attempts)
            if ready:
                shutil.rmtree(sending, ignore_errors=True)
                self.store.update(job_id, exports="delivered")
        finally:
            (jobdir / callback.FILE).unlink(missing_ok=True)

    def _release(self, job_id: str) -> None:
        with self._cond:
            self._running.pop(job_id, None)
            self._nodes.pop(job_id, None)
            self._cond.notify_all()

    # -- exports and retention --------------------------------------------------------------
    def take_exports(self, job_id: str) -> list[dict]:
        """The job's export files, once: they are deleted as they are handed out."""
        with self._cond:
            job = self.store.get(job_id)
            if job is None:
                raise NotFound(job_id)
            if job["state"] not in FINISHED:
                raise NotReady(job["state"])
            if job["exports"] != "ready":
                raise Gone(job["exports"])
            jobdir = self.jobdir(job_id)
            taken = jobdir / "exports.taken"
            os.rename(jobdir / "exports", taken)
            self.store.update(job_id, exports="fetched")
        try:
            files = self._files_of(taken)
        finally:
            shutil.rmtree(taken, ignore_errors=True)
        LOG.info("job %s: %d export file(s) handed out and deleted", job_id, len(files))
        return files

    @staticmethod
    def _files_of(directory: Path) -> list[dict]:
        files = []
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                data = path.read_bytes()
                item = {"path": str(path.relative_to(directory))}
                try:
                    item["content"] = data.decode("utf-8")
                except UnicodeDecodeError:
                    item.update(content=base64.b64encode(data).decode("ascii"), encoding="base64")
                files.append(item)
        return files

    def sweep(self, now: float | None = None) -> int:
        """Delete the directories (exports included) of jobs finished more than ``retention`` ago."""
        now = time.time() if now is None else now
        removed = 0
        for job in self.store.expired(now - self.config.retention):
            shutil.rmtree(self.jobdir(job["id"]), ignore_errors=True)
            self.store.update(job["id"], exports="expired")
            removed += 1
        known = self.store.known_ids()
        for path in self.jobs_dir.iterdir():
            # A directory without a job: made by a server that stopped between the two writes of submit().
            if path.name not in known and now - path.stat().st_mtime > 600:
                shutil.rmtree(path, ignore_errors=True)
        return removed

    def _janitor(self) -> None:
        interval = max(1, min(60, self.config.retention // 4))
        while True:
            with self._cond:
                if self._cond.wait_for(lambda: self._stopping, timeout=interval):
                    return
            try:
                removed = self.sweep()
                if removed:
                    LOG.info("retention: removed the directories of %d job(s)", removed)
            except OSError:
                LOG.exception("retention sweep failed")
