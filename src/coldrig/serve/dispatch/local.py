"""The local dispatcher: ansible-runner on this machine (the default).

The job's directory is runner's private_data_dir and the job id its ident:

    spec.json        the onboarding spec with its secrets, mode 0600, passed as ``-e @spec.json``
                     (secrets never go through runner's envvars, which ansible-runner writes into
                     ``artifacts/<id>/command``)
    env/extravars    coldrig_exports_dir only
    exports/         what the playbooks export (credentials files)
    artifacts/<id>/  ansible-runner's own artifacts (events, stdout, the command without its env)
"""

from __future__ import annotations

import json
import os
import shlex
import signal
from pathlib import Path

from coldrig.serve.dispatch import OUTCOMES, Dispatcher, Outcome


def _processes_of(jobdir: Path) -> list[int]:
    """Processes whose command line names the job's directory (ansible-playbook of that job)."""
    needle = str(jobdir).encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if needle in handle.read():
                    pids.append(int(entry))
        except OSError:
            continue
    return pids


def kill_leftovers(jobdir: Path) -> int:
    """SIGKILL the process groups of a job's run (left by a server killed mid-run); how many groups."""
    groups = set()
    own = os.getpgid(0)
    for pid in _processes_of(jobdir):
        try:
            group = os.getpgid(pid)
            if group == own:
                os.kill(pid, signal.SIGKILL)
            else:
                os.killpg(group, signal.SIGKILL)
            groups.add(group)
        except ProcessLookupError:
            continue
    return len(groups)


def scrub_command_artifact(jobdir: Path, job_id: str) -> None:
    """ansible-runner writes the run's whole environment to artifacts/<ident>/command: keep the command only."""
    path = jobdir / "artifacts" / job_id / "command"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    data.pop("env", None)
    path.write_text(json.dumps(data), encoding="utf-8")


class LocalDispatcher(Dispatcher):
    name = "local"

    def __init__(self, config):
        self.config = config

    def run(self, job, jobdir, spec_file, on_event, should_stop) -> Outcome:
        import ansible_runner  # pylint: disable=import-outside-toplevel  # a slow import, only for runs

        project = Path(self.config.project_dir).resolve()
        artifacts: dict = {}

        def handler(event):
            if event.get("event") == "playbook_on_stats":
                artifacts.update((event.get("event_data") or {}).get("artifact_data") or {})
            on_event(event)
            return True

        runner = ansible_runner.interface.init_runner(
            private_data_dir=str(jobdir), ident=job["id"], project_dir=str(project),
            playbook=str(self.config.playbook_path),
            inventory=str(self.config.inventory_path(job["inventory"])),
            limit=",".join(job["nodes"]),
            extravars={"coldrig_exports_dir": str(jobdir / "exports")},
            cmdline="-e @" + shlex.quote(str(spec_file)),
            envvars={"ANSIBLE_CONFIG": str(project / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
                     "ANSIBLE_HOME": str(project / ".ansible")},
            settings={"job_timeout": self.config.job_timeout, "pexpect_timeout": 0.5,
                      "suppress_ansible_output": True},
            quiet=True, event_handler=handler, cancel_callback=should_stop,
        )
        runner.run()
        state = runner.status if runner.status in OUTCOMES else "error"
        return Outcome(state=state, rc=runner.rc, stats=runner.stats, artifacts=artifacts or None)

    def cleanup(self, job_id, jobdir) -> None:
        kill_leftovers(jobdir)
        scrub_command_artifact(jobdir, job_id)

    def recover(self, job_id, jobdir) -> str | None:
        killed = kill_leftovers(jobdir)
        scrub_command_artifact(jobdir, job_id)
        return f"{killed} process group(s) of the run were still alive and were killed" if killed else None
