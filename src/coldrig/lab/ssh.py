"""SSH plumbing for lab nodes: the lab key, waiting for sshd, known_hosts."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable

from coldrig.lab.errors import LabError


def ensure_key(path: Path) -> str:
    """Create the lab's ed25519 key pair if missing; return the public key line."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "coldrig-lab", "-f", str(path)],
            check=True,
        )
    os.chmod(path, 0o600)
    return Path(f"{path}.pub").read_text().strip()


def banner(address: str, port: int, timeout: float = 3.0) -> bytes:
    """The first bytes the server sends, or b'' (QEMU accepts before the guest listens)."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            return sock.recv(64)
    except OSError:
        return b""


def ssh_base_args(key: Path, known_hosts: Path, port: int) -> list[str]:
    return [
        "-i", str(key),
        "-p", str(port),
        "-o", "IdentitiesOnly=yes",
        "-o", f"UserKnownHostsFile={known_hosts}",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "LogLevel=ERROR",
        "-o", "ConnectTimeout=10",
    ]


def record_host_key(known_hosts: Path, address: str, port: int) -> None:
    """Trust the node's freshly generated host key (and forget any earlier one)."""
    result = subprocess.run(
        ["ssh-keyscan", "-T", "10", "-p", str(port), "-t", "ed25519", address],
        capture_output=True, text=True, check=False,
    )
    lines = [line for line in result.stdout.splitlines() if line and not line.startswith("#")]
    if not lines:
        raise LabError(f"ssh-keyscan got no host key from {address}:{port}: {result.stderr.strip()}")
    marker = f"[{address}]:{port} "
    kept = []
    if known_hosts.exists():
        kept = [line for line in known_hosts.read_text().splitlines() if not line.startswith(marker)]
    fd = os.open(known_hosts, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(kept + lines) + "\n")


def wait_for_ssh(
    address: str,
    port: int,
    key: Path,
    known_hosts: Path,
    deadline: float,
    alive: Callable[[], bool],
    on_wait: Callable[[], None] | None = None,
) -> None:
    """Block until root can log in over SSH, the VM dies, or the deadline passes."""
    while not banner(address, port).startswith(b"SSH-"):
        if not alive():
            raise LabError("the VM stopped before SSH came up")
        if time.monotonic() > deadline:
            raise LabError(f"SSH on {address}:{port} did not answer in time")
        if on_wait:
            on_wait()
        time.sleep(1)
    record_host_key(known_hosts, address, port)
    while True:
        result = subprocess.run(
            ["ssh", *ssh_base_args(key, known_hosts, port), "-o", "BatchMode=yes",
             f"root@{address}", "true"],
            capture_output=True, text=True, check=False,
        )
        if result.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise LabError(f"SSH login as root on {address}:{port} failed: {result.stderr.strip()}")
        time.sleep(1)
