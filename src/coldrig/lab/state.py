"""The lab's state file: ``<lab dir>/state.json``.

It is the contract between ``coldrig lab`` (which writes it) and the
``coldrig.infra.lab`` inventory plugin (which reads it), so its shape is
versioned. Version 1::

    {"version": 1, "domain": "...", "created": "...",
     "ssh": {"user": "root", "private_key": "...", "known_hosts": "..."},
     "dns": {"server": "127.0.0.1", "port": 10053, "pid": 123, "zones": [...],
             "tsig_key_name": "...", "tsig_algorithm": "hmac-sha256",
             "tsig_secret_file": "..."},
     "acme": {"pid": 124, "port": 14000, "management_port": 15000,
              "directory": "https://127.0.0.1:14000/dir",
              "node_directory": "https://10.0.2.2:14000/dir",
              "api_ca_file": "...", "root_file": "..."},
     "nodes": {"node1": {"name", "fqdn", "address", "ports", "pid", "accel",
                         "memory_mb", "cpus", "image", "labels", "booted_at", ...}}}

Secrets (the SSH private key, the TSIG secret, the ACME API's keys) live in
their own mode-0600 files; the state file only points at them. ``acme`` is
absent from the state of a lab started before the lab had an ACME server; the
next ``coldrig lab up`` adds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path
from typing import Iterator

STATE_VERSION = 1


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); it is not running.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class LabState:
    def __init__(self, lab_dir: Path):
        self.lab_dir = lab_dir
        self.path = lab_dir / "state.json"

    def load(self) -> dict:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {"version": STATE_VERSION, "nodes": {}}
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"{self.path}: unknown state version {data.get('version')!r}")
        data.setdefault("nodes", {})
        return data

    def save(self, data: dict) -> None:
        self.lab_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(tmp, self.path)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Serialise lab changes: two `coldrig lab up` at once must not race."""
        self.lab_dir.mkdir(parents=True, exist_ok=True)
        # `coldrig lab down` removes the lab directory, this lock file with it.
        with open(self.lab_dir / ".lock", "w", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
