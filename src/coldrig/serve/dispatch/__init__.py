"""Where a job's playbook runs: the seam between the job manager and an engine.

One interface, :class:`Dispatcher`, two implementations:

local   ansible-runner on this machine, one private data directory per job (the default)
awx     an AWX job template launched through AWX's REST API (``--dispatch awx``, docs/awx.md)

The job manager (jobs.py) owns everything else -- the queue, the per-node locks, the job's
states, the store, the events over SSE, the exports -- so the job API is the same either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

DISPATCHERS = ("local", "awx")
OUTCOMES = frozenset({"successful", "failed", "canceled", "timeout", "error"})


@dataclass
class Outcome:
    """How a run ended.

    ``state``: one of OUTCOMES (``canceled`` also when the server stopped; the manager names that
    ``interrupted``). ``stats``: Ansible's playbook_on_stats counts (``ok``, ``changed``, ``dark``,
    ``failures``, ... each ``{host: n}``). ``artifacts``: the data the playbook gave ``set_stats``.
    """

    state: str
    rc: int | None = None
    stats: dict | None = None
    artifacts: dict | None = None
    explanation: str | None = None


class Dispatcher:
    """Runs one job's playbook somewhere and reports its events and outcome."""

    name = ""

    def run(self, job: dict, jobdir: Path, spec_file: Path, on_event: Callable[[dict], None],
            should_stop: Callable[[], bool]) -> Outcome:
        """Run ``job`` (a row of the store) with the spec in ``spec_file`` until it ends.

        ``on_event`` gets each Ansible event as ansible-runner and AWX both shape it (``event``,
        ``counter``, ``created``, ``event_data``); ``should_stop()`` turns true when the run is to
        be ended (a cancel, the server stopping). The run ends within ``job_timeout``.
        """
        raise NotImplementedError

    def cleanup(self, job_id: str, jobdir: Path) -> None:
        """After every run, whatever its end: nothing of it keeps running or keeps a secret."""

    def recover(self, job_id: str, jobdir: Path) -> str | None:
        """A run left by a server that was killed: end what is left of it; a note for the job's explanation."""
        return None

    def request_problems(self, spec: dict) -> list[str]:
        """Problems of a request's spec that this dispatcher cannot run (422 before a job exists)."""
        return []


def make(config) -> Dispatcher:
    """The dispatcher the settings name (``dispatch``)."""
    if config.dispatch == "awx":
        from coldrig.serve.dispatch.awx import AwxDispatcher  # pylint: disable=import-outside-toplevel
        return AwxDispatcher(config)
    from coldrig.serve.dispatch.local import LocalDispatcher  # pylint: disable=import-outside-toplevel
    return LocalDispatcher(config)
