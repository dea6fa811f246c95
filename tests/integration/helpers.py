"""Helpers for tests that drive the real lab (QEMU nodes, Knot DNS) through the coldrig command."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def lab_root() -> Path:
    """Where test labs live: $COLDRIG_TEST_ROOT (set by `make test`) or a temp dir."""
    base = os.environ.get("COLDRIG_TEST_ROOT") or tempfile.gettempdir()
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


def coldrig(*args: str, check: bool = True, env: dict | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the coldrig command as a user would; fail the test with its output when it fails."""
    command = [sys.executable, "-m", "coldrig.cli", *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True, check=False,
                            env=env, timeout=timeout, stdin=subprocess.DEVNULL)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def ansible_env(lab_dir: Path) -> dict:
    env = dict(os.environ)
    env.update({
        "COLDRIG_LAB_DIR": str(lab_dir),
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_HOME": str(ROOT / ".ansible"),
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    })
    return env


def run_module(module: str, args: dict, check: bool = False, diff: bool = False,
               env: dict | None = None) -> dict:
    """Run one coldrig.infra module on localhost through ansible, as a playbook task would.

    Returns the module's result (with ``failed`` and ``msg`` on failure).
    """
    import json  # pylint: disable=import-outside-toplevel

    environment = dict(os.environ)
    environment.update({
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_HOME": str(ROOT / ".ansible"),
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_DEPRECATION_WARNINGS": "0",  # --tree is deprecated for 2.23; fine on 2.19
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "PATH": f"{BIN}{os.pathsep}{environment.get('PATH', '')}",
    })
    environment.update(env or {})
    with tempfile.TemporaryDirectory(prefix="coldrig-module-") as tree:
        command = [str(BIN / "ansible"), "localhost", "-i", "localhost,", "-c", "local",
                   "-e", f"ansible_python_interpreter={sys.executable}", "--tree", tree,
                   "-m", module, "-a", json.dumps(args)]
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        result = subprocess.run(command, capture_output=True, text=True, check=False, env=environment,
                                stdin=subprocess.DEVNULL, cwd=ROOT, timeout=300)
        # --tree writes the whole result (diff included) to <tree>/localhost.
        try:
            with open(os.path.join(tree, "localhost"), encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            pytest.fail(f"ansible wrote no result ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    # The tree file leaves out `failed`; ansible's exit code tells it (2: a task failed).
    data["failed"] = result.returncode != 0
    data["_output"] = result.stdout + result.stderr
    return data
