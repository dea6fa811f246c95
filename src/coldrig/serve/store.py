"""The durable job store of ``coldrig serve``: one SQLite file in WAL mode.

It keeps jobs (state, timestamps, rc, the per-host recap, the onboarding summary the playbook gave
set_stats -- records, mailbox counts, deliverability, never a password --, the spec with its secrets masked),
the ansible-runner events shown over SSE (a few fields each, never a module's result), and the
signatures seen inside the replay window. It never holds a secret or an export.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

STATES = ("queued", "running", "successful", "failed", "canceled", "timeout", "interrupted", "error")
FINISHED = frozenset(STATES[2:])

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    rc INTEGER,
    inventory TEXT NOT NULL,
    nodes TEXT NOT NULL,
    playbook TEXT NOT NULL,
    spec TEXT NOT NULL,
    idempotency_key TEXT UNIQUE,
    body_sha256 TEXT,
    recap TEXT,
    explanation TEXT,
    exports TEXT NOT NULL DEFAULT 'none',
    summary TEXT
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state);
CREATE TABLE IF NOT EXISTS events (
    job_id TEXT NOT NULL,
    counter INTEGER NOT NULL,
    event TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (job_id, counter)
);
CREATE TABLE IF NOT EXISTS seen_signatures (
    digest TEXT PRIMARY KEY,
    expires REAL NOT NULL
);
"""

_JSON_COLUMNS = ("nodes", "spec", "recap", "summary")


class Replayed(Exception):
    """The signature was used already inside the replay window."""


class Store:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(jobs)").fetchall()}
        if "summary" not in columns:  # a store made before the summary was kept
            self._db.execute("ALTER TABLE jobs ADD COLUMN summary TEXT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _row(self, row) -> dict | None:
        if row is None:
            return None
        job = dict(row)
        for column in _JSON_COLUMNS:
            if job.get(column) is not None:
                job[column] = json.loads(job[column])
        return job

    # -- jobs -------------------------------------------------------------------------------
    def insert(self, job: dict) -> tuple[dict, bool]:
        """Insert a queued job; with an Idempotency-Key already known, return that job instead.

        Returns (job, created).
        """
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if job.get("idempotency_key"):
                    row = self._db.execute("SELECT * FROM jobs WHERE idempotency_key = ?",
                                           (job["idempotency_key"],)).fetchone()
                    if row is not None:
                        self._db.execute("COMMIT")
                        return self._row(row), False
                values = dict(job)
                for column in _JSON_COLUMNS:
                    if column in values:
                        values[column] = json.dumps(values[column], sort_keys=True)
                columns = ", ".join(values)
                marks = ", ".join("?" * len(values))
                self._db.execute(f"INSERT INTO jobs ({columns}) VALUES ({marks})", tuple(values.values()))
                row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job["id"],)).fetchone()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return self._row(row), True

    def by_idempotency_key(self, key: str) -> dict | None:
        with self._lock:
            return self._row(self._db.execute("SELECT * FROM jobs WHERE idempotency_key = ?", (key,)).fetchone())

    def get(self, job_id: str) -> dict | None:
        with self._lock:
            return self._row(self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone())

    def list(self, state: str | None = None, limit: int = 100) -> list[dict]:
        with self._lock:
            if state:
                rows = self._db.execute("SELECT * FROM jobs WHERE state = ? ORDER BY seq DESC LIMIT ?",
                                        (state, limit)).fetchall()
            else:
                rows = self._db.execute("SELECT * FROM jobs ORDER BY seq DESC LIMIT ?", (limit,)).fetchall()
        return [self._row(row) for row in rows]

    def unfinished(self) -> list[dict]:
        """Queued and running jobs, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM jobs WHERE state IN ('queued', 'running') ORDER BY seq").fetchall()
        return [self._row(row) for row in rows]

    def update(self, job_id: str, **fields) -> None:
        for column in _JSON_COLUMNS:
            if column in fields and fields[column] is not None:
                fields[column] = json.dumps(fields[column], sort_keys=True)
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self._lock:
            self._db.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", (*fields.values(), job_id))

    def finish_if(self, job_id: str, states: tuple[str, ...], **fields) -> bool:
        """Set the fields when the job is in one of ``states``; True when it was."""
        assignments = ", ".join(f"{name} = ?" for name in fields)
        marks = ", ".join("?" * len(states))
        with self._lock:
            cursor = self._db.execute(f"UPDATE jobs SET {assignments} WHERE id = ? AND state IN ({marks})",
                                      (*fields.values(), job_id, *states))
            return cursor.rowcount == 1

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall()
        counts = dict.fromkeys(STATES, 0)
        counts.update(dict(rows))
        return counts

    def durations(self) -> list[tuple[str, float]]:
        with self._lock:
            rows = self._db.execute("SELECT state, finished - started FROM jobs "
                                    "WHERE finished IS NOT NULL AND started IS NOT NULL").fetchall()
        return [tuple(row) for row in rows]

    def expired(self, before: float) -> list[dict]:
        marks = ", ".join("?" * len(FINISHED))
        with self._lock:
            rows = self._db.execute(f"SELECT * FROM jobs WHERE state IN ({marks}) AND finished < ? "
                                    "AND exports != 'expired'", (*FINISHED, before)).fetchall()
        return [self._row(row) for row in rows]

    def known_ids(self) -> set[str]:
        with self._lock:
            return {row[0] for row in self._db.execute("SELECT id FROM jobs").fetchall()}

    # -- events -----------------------------------------------------------------------------
    def add_event(self, job_id: str, counter: int, event: str, data: dict) -> None:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO events (job_id, counter, event, data) VALUES (?, ?, ?, ?)",
                             (job_id, counter, event, json.dumps(data, sort_keys=True)))

    def events(self, job_id: str, after: int = 0, limit: int = 500) -> list[tuple[int, str, str]]:
        with self._lock:
            return [tuple(row) for row in self._db.execute(
                "SELECT counter, event, data FROM events WHERE job_id = ? AND counter > ? ORDER BY counter LIMIT ?",
                (job_id, after, limit)).fetchall()]

    def last_event(self, job_id: str) -> int:
        with self._lock:
            row = self._db.execute("SELECT MAX(counter) FROM events WHERE job_id = ?", (job_id,)).fetchone()
        return row[0] or 0

    # -- signatures -------------------------------------------------------------------------
    def remember_signature(self, digest: str, expires: float) -> None:
        """Record a signature used by a request that changes something; Replayed when seen already."""
        with self._lock:
            now = time.time()
            self._db.execute("DELETE FROM seen_signatures WHERE expires < ?", (now,))
            try:
                self._db.execute("INSERT INTO seen_signatures (digest, expires) VALUES (?, ?)", (digest, expires))
            except sqlite3.IntegrityError:
                raise Replayed(digest) from None
