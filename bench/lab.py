"""Benchmark of the lab: what a node costs.

Prints:
  - image build time, cold (debootstrap into an empty cache; --warm reuses the cache)
  - node boot-to-SSH time (fresh overlay, QEMU start, first boot, SSH login)
  - two nodes at once: wall time of `lab up --nodes 2`
  - node reset time (fresh overlay and boot, back to SSH)
  - memory per node (RSS of the QEMU process, after boot and after `lab up`)
  - `lab down` time

Run as root (debootstrap): `.venv/bin/python bench/lab.py [--warm] [--json FILE]`.
It uses its own lab and cache directories under a temporary folder and
removes them at the end, so it never touches a running demo lab.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _lab_bench import report  # noqa: E402  pylint: disable=wrong-import-position

from coldrig.lab import qemu  # noqa: E402  pylint: disable=wrong-import-position
from coldrig.lab.config import LabConfig, default_cache_dir  # noqa: E402  pylint: disable=wrong-import-position
from coldrig.lab.image import ImageBuilder  # noqa: E402  pylint: disable=wrong-import-position
from coldrig.lab.lab import Lab  # noqa: E402  pylint: disable=wrong-import-position


def timed(func, *args):
    start = time.monotonic()
    result = func(*args)
    return time.monotonic() - start, result


def quiet(_message: str) -> None:
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warm", action="store_true", help="reuse the user's image cache (skip the cold build)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="coldrig-bench-lab-"))
    figures: dict[str, float | str] = {}
    try:
        cache = default_cache_dir() if args.warm else work / "cache"
        if not args.warm:
            print("building the image cold (debootstrap; a few minutes)...", flush=True)
            figures["image_build_cold_s"], _image = timed(ImageBuilder(cache, quiet).ensure)
        else:
            figures["image_build_cold_s"] = "skipped (--warm)"
        figures["image_cached_lookup_s"], image = timed(ImageBuilder(cache, quiet).ensure)
        figures["image_disk_mib"] = round(image.disk.stat().st_size / 2**20)

        lab = Lab(LabConfig(lab_dir=work / "lab1", cache_dir=cache), say=quiet)
        print("booting one node...", flush=True)
        figures["lab_up_1_node_s"], data = timed(lab.up, 1)
        figures["node_boot_to_ssh_s"] = data["nodes"]["node1"]["boot_seconds"]
        figures["node_rss_after_boot_mib"] = round(qemu.rss_bytes(data["nodes"]["node1"]["pid"]) / 2**20)
        print("resetting it...", flush=True)
        figures["node_reset_s"], _seconds = timed(lab.reset, "node1")
        figures["lab_down_s"], _none = timed(lab.down)

        lab2 = Lab(LabConfig(lab_dir=work / "lab2", cache_dir=cache), say=quiet)
        print("booting two nodes at once...", flush=True)
        figures["lab_up_2_nodes_s"], data = timed(lab2.up, 2)
        rss = [qemu.rss_bytes(n["pid"]) for n in data["nodes"].values()]
        figures["node_rss_2_nodes_mib"] = round(sum(rss) / len(rss) / 2**20)
        figures["node_memory_configured_mib"] = data["nodes"]["node1"]["memory_mb"]
        figures["accel"] = data["nodes"]["node1"]["accel"]
        lab2.down()
    finally:
        for lab_dir in ("lab1", "lab2"):
            if (work / lab_dir).exists():
                Lab(LabConfig(lab_dir=work / lab_dir, cache_dir=work / "cache"), say=quiet).down()
        shutil.rmtree(work, ignore_errors=True)

    report("coldrig lab benchmark", figures, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
