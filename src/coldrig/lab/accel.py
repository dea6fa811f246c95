"""KVM or TCG: use KVM only when it has been seen to boot a kernel here.

``/dev/kvm`` can exist while nested KVM hangs the guest early in boot. So the
lab boots the image's kernel once under KVM with a short deadline: a kernel
with no root device panics and, with ``-no-reboot``, QEMU exits. Exiting in time
means KVM works; hanging means it does not. The answer is cached per host
kernel and QEMU version; ``COLDRIG_LAB_ACCEL=kvm|tcg`` skips the probe.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path

PROBE_SECONDS = 20.0


def qemu_version(qemu: str) -> str:
    out = subprocess.run([qemu, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.splitlines()[0] if out.stdout else "unknown"


def probe_command(qemu: str, kernel: Path) -> list[str]:
    return [
        qemu, "-accel", "kvm", "-m", "256", "-display", "none", "-monitor", "none",
        "-serial", "stdio", "-no-reboot", "-kernel", str(kernel),
        "-append", "console=ttyS0 panic=-1 root=/dev/nonexistent",
    ]


def kvm_boots(qemu: str, kernel: Path, seconds: float = PROBE_SECONDS) -> bool:
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    try:
        result = subprocess.run(
            probe_command(qemu, kernel), capture_output=True, text=True,
            timeout=seconds, check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return "Kernel panic" in result.stdout or "Unable to mount root" in result.stdout


def choose(requested: str, qemu: str, kernel: Path, cache_dir: Path) -> str:
    """Return 'kvm' or 'tcg' for the requested mode ('auto', 'kvm' or 'tcg')."""
    if requested in ("kvm", "tcg"):
        return requested
    key = f"{platform.release()}|{qemu_version(qemu)}|{kernel.resolve()}"
    cache = cache_dir / "accel.json"
    try:
        known = json.loads(cache.read_text())
    except (OSError, ValueError):
        known = {}
    if key not in known:
        known[key] = "kvm" if kvm_boots(qemu, kernel) else "tcg"
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(known, indent=2) + "\n")
    return known[key]
