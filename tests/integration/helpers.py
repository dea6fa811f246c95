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
