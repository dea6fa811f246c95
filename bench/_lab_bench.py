"""What the benchmarks on lab VMs share: the `coldrig lab` command, Ansible's environment, the figures' report.

bench/harden.py and bench/onboard.py boot a lab of their own under build/bench-labs, run
playbooks against it with ansible-core's linear strategy (as a user runs them) or mitogen's,
and print their figures; bench/lab.py prints its figures the same way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STRATEGIES = ("linear", "mitogen_linear")


def coldrig_lab(lab_dir: Path, *args: str, check: bool = True, timeout: float = 1800) -> subprocess.CompletedProcess:
    """`coldrig lab ARGS[0] --lab-dir LAB_DIR ARGS[1:]`; exit with its output when it fails and ``check``."""
    command = [str(BIN / "coldrig"), "lab", args[0], "--lab-dir", str(lab_dir), *args[1:]]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=timeout,
                            stdin=subprocess.DEVNULL)
    if check and result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def ansible_env(lab_dir: Path, strategy: str) -> dict:
    """The environment for ansible-playbook against the lab in ``lab_dir``, with the given strategy."""
    env = dict(os.environ)
    env.update({"COLDRIG_LAB_DIR": str(lab_dir), "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_FORCE_COLOR": "0", "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}"})
    env.pop("ANSIBLE_STRATEGY", None)
    if strategy != "linear":
        import ansible_mitogen  # pylint: disable=import-outside-toplevel

        env["ANSIBLE_STRATEGY_PLUGINS"] = str(Path(ansible_mitogen.__file__).parent / "plugins" / "strategy")
        env["ANSIBLE_STRATEGY"] = strategy
    return env


def report(title: str, figures: dict, json_path: str | None) -> None:
    """Print the figures under ``title``; also write them to ``json_path`` when given."""
    print(f"\n{title}")
    for key, value in figures.items():
        shown = f"{value:.1f}" if isinstance(value, float) else str(value)
        print(f"  {key:<28} {shown}")
    if json_path:
        Path(json_path).write_text(json.dumps(figures, indent=2) + "\n")
