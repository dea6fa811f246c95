"""One lab node: a QEMU process on a copy-on-write overlay of the cached image."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import time
from pathlib import Path

from coldrig.lab.config import FORWARDS
from coldrig.lab.errors import LabError
from coldrig.lab.image import Image
from coldrig.lab.state import pid_alive


def process_name(lab_id: str, node: str) -> str:
    return f"coldrig-{lab_id}-{node}"


def kernel_cmdline(fqdn: str, public_key: str) -> str:
    key = base64.b64encode(public_key.encode()).decode()
    return (
        "root=/dev/vda rw console=ttyS0 quiet systemd.show_status=false "
        f"net.ifnames=1 coldrig.hostname={fqdn} coldrig.ssh_key={key}"
    )


def hostfwd(address: str) -> str:
    return ",".join(
        f"hostfwd=tcp:{address}:{host}-:{guest}" for host, guest in FORWARDS.values()
    )


def qemu_command(
    qemu: str,
    *,
    name: str,
    image: Image,
    overlay: Path,
    node_dir: Path,
    address: str,
    fqdn: str,
    public_key: str,
    accel: str,
    memory_mb: int,
    cpus: int,
) -> list[str]:
    accel_arg = "kvm" if accel == "kvm" else "tcg,thread=multi"
    return [
        qemu,
        "-name", name,
        "-accel", accel_arg,
        "-m", str(memory_mb),
        "-smp", str(cpus),
        "-display", "none",
        "-vga", "none",
        "-monitor", "none",
        "-serial", f"file:{node_dir / 'console.log'}",
        "-kernel", str(image.kernel),
        "-initrd", str(image.initrd),
        "-append", kernel_cmdline(fqdn, public_key),
        "-drive", f"file={overlay},format=qcow2,if=virtio,cache=unsafe,discard=unmap",
        "-netdev", f"user,id=n0,{hostfwd(address)}",
        "-device", "virtio-net-pci,netdev=n0,romfile=",
        "-device", "virtio-rng-pci",
        "-pidfile", str(node_dir / "qemu.pid"),
        "-daemonize",
    ]


def create_overlay(qemu_img: str, image: Image, overlay: Path) -> None:
    overlay.parent.mkdir(parents=True, exist_ok=True)
    if overlay.exists():
        overlay.unlink()
    subprocess.run(
        [qemu_img, "create", "-q", "-f", "qcow2", "-b", str(image.disk), "-F", "qcow2", str(overlay)],
        check=True,
    )


def start(command: list[str], node_dir: Path) -> int:
    """Start QEMU daemonized and return its pid."""
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        message = result.stderr.strip().splitlines()
        raise LabError(f"qemu failed to start: {message[-1] if message else 'no output'}")
    return int((node_dir / "qemu.pid").read_text().strip())


def is_ours(pid: int | None, name: str) -> bool:
    """True when pid is alive and is the QEMU we started under that name."""
    if not pid_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return name.encode() in cmdline


def stop(pid: int | None, name: str, timeout: float = 10.0) -> None:
    """Stop the node's QEMU (SIGTERM, then SIGKILL); a no-op when it is gone."""
    if not is_ours(pid, name):
        return
    assert pid is not None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline += timeout
        time.sleep(0.1)


def rss_bytes(pid: int | None) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0
