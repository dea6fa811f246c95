"""The job store: SQLite in WAL mode, Idempotency-Keys, remembered signatures, events."""

import time

import pytest

from coldrig.serve.store import Replayed, Store


def _job(job_id, key=None):
    return {"id": job_id, "state": "queued", "created": time.time(), "inventory": "lab", "nodes": ["node1"],
            "playbook": "playbooks/onboard.yml", "spec": {}, "idempotency_key": key, "body_sha256": "x"}


def test_the_store_is_in_wal_mode(tmp_path):
    store = Store(tmp_path / "jobs.sqlite3")
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # pylint: disable=protected-access


def test_an_idempotency_key_returns_the_first_job(tmp_path):
    store = Store(tmp_path / "jobs.sqlite3")
    first, created = store.insert(_job("a", key="k"))
    again, created_again = store.insert(_job("b", key="k"))
    assert created and not created_again and again["id"] == first["id"] == "a"
    assert [job["id"] for job in store.list()] == ["a"]


def test_jobs_survive_a_reopen(tmp_path):
    store = Store(tmp_path / "jobs.sqlite3")
    store.insert(_job("a"))
    store.update("a", state="running", started=1.0)
    store.close()
    reopened = Store(tmp_path / "jobs.sqlite3")
    assert [(job["id"], job["state"]) for job in reopened.unfinished()] == [("a", "running")]


def test_a_signature_is_refused_the_second_time(tmp_path):
    store = Store(tmp_path / "jobs.sqlite3")
    store.remember_signature("d1", time.time() + 600)
    with pytest.raises(Replayed):
        store.remember_signature("d1", time.time() + 600)
    store.remember_signature("d2", time.time() - 1)  # expired: forgotten at the next write
    store.remember_signature("d3", time.time() + 600)
    store.remember_signature("d2", time.time() + 600)


def test_events_resume_after_an_id(tmp_path):
    store = Store(tmp_path / "jobs.sqlite3")
    for counter in (1, 2, 5):
        store.add_event("a", counter, "runner_on_ok", {"host": "node1"})
    assert [event[0] for event in store.events("a", after=2)] == [5]
    assert store.last_event("a") == 5 and store.last_event("b") == 0


def test_counts_have_every_state(tmp_path):
    store = Store(tmp_path / "jobs.sqlite3")
    store.insert(_job("a"))
    counts = store.counts()
    assert counts["queued"] == 1 and counts["interrupted"] == 0
