"""The worker pool and the per-node locks (no run: the scheduler's choice only)."""

from pathlib import Path

import pytest

from coldrig.serve import config as settings
from coldrig.serve.jobs import Busy, Gone, JobManager
from coldrig.serve.store import Store

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def manager(tmp_path):
    loaded = settings.load(None, {"COLDRIG_SERVE_SECRETS": "s" * 40, "COLDRIG_SERVE_PROJECT_DIR": str(ROOT),
                                  "COLDRIG_SERVE_DATA_DIR": str(tmp_path), "COLDRIG_SERVE_CONCURRENCY": "2"})
    return JobManager(loaded, Store(tmp_path / "jobs.sqlite3"))


def _submit(manager, nodes, on_busy="wait", key=None):
    job, _created = manager.submit(spec={"coldrig_dns": {"api_token": "t0ken"}}, masked_spec={}, nodes=nodes,
                                   inventory="lab", on_busy=on_busy, idempotency_key=key, body_sha256="h")
    return job["id"]


def _start_next(manager):
    job_id = manager._next()  # pylint: disable=protected-access
    if job_id:
        manager._pending.remove(job_id)  # pylint: disable=protected-access
        manager._running[job_id] = object()  # pylint: disable=protected-access
    return job_id


def test_a_job_waits_while_another_holds_its_node(manager):
    first = _submit(manager, ["node1"])
    _submit(manager, ["node1", "node2"])
    assert _start_next(manager) == first
    assert _start_next(manager) is None


def test_a_younger_job_does_not_overtake_an_older_one_on_the_same_node(manager):
    first = _submit(manager, ["node1"])
    _submit(manager, ["node1", "node2"])
    third, fourth = _submit(manager, ["node2"]), _submit(manager, ["node3"])
    assert _start_next(manager) == first
    # node2 is wanted by the older waiting job: the job on node2 waits too, the one on node3 starts.
    assert _start_next(manager) == fourth
    assert third in manager._pending  # pylint: disable=protected-access


def test_the_pool_is_bounded(manager):
    ids = [_submit(manager, [f"node{index}"]) for index in range(4)]
    assert [_start_next(manager) for _turn in range(3)] == ids[:2] + [None]


def test_on_busy_refuse_names_the_busy_nodes(manager):
    _submit(manager, ["node1", "node2"])
    with pytest.raises(Busy) as caught:
        _submit(manager, ["node2", "node3"], on_busy="refuse")
    assert caught.value.args[0] == ["node2"]


def test_the_spec_file_is_private(manager):
    job_id = _submit(manager, ["node1"])
    spec = manager.jobdir(job_id) / "spec.json"
    assert spec.stat().st_mode & 0o777 == 0o600
    assert manager.jobdir(job_id).stat().st_mode & 0o777 == 0o700
    store_files = list(manager.store.path.parent.glob("jobs.sqlite3*"))
    assert len(store_files) >= 2 and not any(b"t0ken" in path.read_bytes() for path in store_files)
    assert b"t0ken" in spec.read_bytes()


def test_a_queued_job_is_canceled_without_a_run(manager):
    job_id = _submit(manager, ["node1"])
    assert manager.cancel(job_id)["state"] == "canceled"
    assert not (manager.jobdir(job_id) / "spec.json").exists()
    assert manager._next() is None  # pylint: disable=protected-access


def test_retention_removes_old_job_directories(manager):
    job_id = _submit(manager, ["node1"])
    manager.cancel(job_id)
    assert manager.sweep(now=manager.store.get(job_id)["finished"] + manager.config.retention - 1) == 0
    assert manager.sweep(now=manager.store.get(job_id)["finished"] + manager.config.retention + 1) == 1
    assert not manager.jobdir(job_id).exists()
    assert manager.store.get(job_id)["exports"] == "expired"


def test_a_job_running_when_the_server_died_is_interrupted_and_a_queued_one_queues_again(manager, tmp_path):
    running, queued = _submit(manager, ["node1"]), _submit(manager, ["node2"])
    manager.store.update(running, state="running", started=1.0)
    artifacts = manager.jobdir(running) / "artifacts" / running
    artifacts.mkdir(parents=True)
    (artifacts / "command").write_text('{"command": ["ansible-playbook"], "env": {"HCLOUD_TOKEN": "t0ken"}}')
    again = JobManager(manager.config, manager.store)
    again._recover()  # pylint: disable=protected-access
    job = manager.store.get(running)
    assert job["state"] == "interrupted" and "server stopped during the run" in job["explanation"]
    assert not (manager.jobdir(running) / "spec.json").exists()
    assert b"t0ken" not in (artifacts / "command").read_bytes()
    assert again._pending == [queued]  # pylint: disable=protected-access
    assert manager.store.events(running)[-1][1] == "job_finished"


def test_a_binary_export_is_handed_out_in_base64_not_lost(manager):
    job_id = _submit(manager, ["node1"])
    manager.store.update(job_id, state="successful", finished=1.0, exports="ready")
    exports = manager.jobdir(job_id) / "exports" / "example.com"
    exports.mkdir(parents=True)
    (exports / "mailboxes.csv").write_text("email,password\n", encoding="utf-8")
    (exports / "bundle.bin").write_bytes(b"\xff\x00\xfe")
    files = {item["path"]: item for item in manager.take_exports(job_id)}
    assert files["example.com/mailboxes.csv"]["content"] == "email,password\n"
    assert files["example.com/bundle.bin"] == {"path": "example.com/bundle.bin", "content": "/wD+", "encoding": "base64"}
    assert not (manager.jobdir(job_id) / "exports").exists()
    with pytest.raises(Gone):
        manager.take_exports(job_id)
