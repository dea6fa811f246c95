"""Checks that fail early, in one line, with the command that fixes them."""

from __future__ import annotations

import os
import shutil
import socket

from coldrig.lab.errors import LabError

# program -> Debian package that provides it
PROGRAMS = {
    "qemu-system-x86_64": "qemu-system-x86",
    "qemu-img": "qemu-utils",
    "knotd": "knot",
    "knotc": "knot",
    "pebble": "pebble",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "ssh-keyscan": "openssh-client",
}
IMAGE_PROGRAMS = {
    "debootstrap": "debootstrap",
    "mkfs.ext4": "e2fsprogs",
    "chroot": "coreutils",
}


def _search_path() -> str:
    # debootstrap, knotd and mkfs live in sbin, which a non-root PATH may lack.
    extra = ["/usr/local/sbin", "/usr/sbin", "/sbin"]
    parts = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(parts + [p for p in extra if p not in parts])


def which(program: str) -> str | None:
    return shutil.which(program, path=_search_path())


def require_programs(programs: dict[str, str]) -> dict[str, str]:
    """Return program -> path, or fail naming the first missing one and its package."""
    found = {}
    for program, package in programs.items():
        path = which(program)
        if path is None:
            raise LabError(
                f"{program} is not installed: run `apt-get install {package}` "
                "(or `make deps`, which installs everything the lab needs)"
            )
        found[program] = path
    return found


def require_root(action: str) -> None:
    if os.geteuid() != 0:
        raise LabError(
            f"{action} needs root (debootstrap and chroot): run it with sudo, "
            "or run `make demo` once as root to build the cached image"
        )


def port_free(address: str, port: int) -> bool:
    """True when a TCP listener could bind address:port now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError:
            return False
    return True


def udp_port_free(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((address, port))
        except OSError:
            return False
    return True


def require_port(address: str, port: int, what: str) -> None:
    if not port_free(address, port):
        raise LabError(
            f"{address}:{port} ({what}) is already in use: stop whatever listens there "
            f"(`ss -ltnp 'sport = :{port}'` shows it) or run `coldrig lab down` for a lab "
            "left running"
        )
