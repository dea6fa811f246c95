"""The comparison venv of the benchmarks: build/bench-venv with the `ansible` package (and what else one needs).

bench/cloud_inventory.py (hetzner.hcloud's inventory) and bench/dns_cloudflare.py
(community.general.cloudflare_dns) measure coldrig against collections from ANSIBLE_PACKAGE,
installed only for them into BASELINE_VENV: created with SYSTEM_PYTHON -m venv on first use,
reused afterwards, never .venv, never a dependency of coldrig.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BASELINE_VENV = REPO / "build" / "bench-venv"
ANSIBLE_PACKAGE = "ansible==12.3.0"
SYSTEM_PYTHON = "/usr/bin/python3"


def ensure_baseline_venv(packages: tuple[str, ...], timeout: float) -> Path:
    """BASELINE_VENV holding each of ``packages`` ("name==version"); created or completed when it does not."""
    python = BASELINE_VENV / "bin" / "python"

    def installed(name: str) -> str | None:
        if not python.exists():
            return None
        probe = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version(%r))" % name],
                               capture_output=True, text=True, timeout=60, check=False)
        return probe.stdout.strip() if probe.returncode == 0 else None

    def missing() -> list[str]:
        return [p for p in packages if installed(p.split("==", maxsplit=1)[0]) != p.split("==", maxsplit=1)[1]]

    wanted = missing()
    if wanted:
        print("installing %s into %s (only for this benchmark)..." % (" ".join(wanted), BASELINE_VENV.relative_to(REPO)),
              flush=True)
        if not python.exists():
            subprocess.run([SYSTEM_PYTHON, "-m", "venv", str(BASELINE_VENV)], check=True, timeout=300)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *wanted], check=True, timeout=timeout)
        still = missing()
        if still:
            raise RuntimeError("%s does not hold %s after pip install" % (BASELINE_VENV, still[0]))
    return BASELINE_VENV
