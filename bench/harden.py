"""Benchmark of the harden role on a fresh lab VM: Lynis before and after, and wall times.

Prints:
  - the Lynis hardening index and warning count of the bare node (Lynis installed first)
  - the wall time of the harden role's first run, and of its idempotent re-run (changed=0)
  - the Lynis hardening index and warning count after the role, and the warnings' ids
  - the number of tasks run, so that the time per task can be read

The role runs with ansible-core's own linear strategy (as a user runs it) unless
--strategy mitogen_linear is given (the optional accelerator the lab and CI use).
Reference points on the same kind of VM (TCG, 2 vCPU): a bare Debian 12 lab VM scores
61 with 2 warnings; devsec.hardening's os_hardening + ssh_hardening reach 78 with 2
warnings in 1173 s, re-run 899 s. Lynis itself takes several minutes under TCG.

Run as root from the checkout: `.venv/bin/python bench/harden.py [--json FILE]`.
It uses a lab directory of its own under build/bench-labs and takes it down at the end.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _lab_bench import BIN, ROOT, STRATEGIES, ansible_env, coldrig_lab, report  # noqa: E402  pylint: disable=wrong-import-position
PLAYBOOK = ROOT / "molecule" / "harden" / "converge.yml"


def lynis(lab_dir: Path) -> dict:
    """Run Lynis on node1 and read its report: hardening index, warnings, suggestions, seconds."""
    start = time.monotonic()
    coldrig_lab(lab_dir, "ssh", "node1", "--", "lynis audit system --quick --no-colors >/dev/null 2>&1; true")
    seconds = time.monotonic() - start
    report = coldrig_lab(lab_dir, "ssh", "node1", "--", "cat /var/log/lynis-report.dat").stdout
    index = re.search(r"^hardening_index=(\d+)", report, re.M)
    warnings = re.findall(r"^warning\[\]=([^|]+)\|([^|]*)", report, re.M)
    suggestions = re.findall(r"^suggestion\[\]=([^|]+)\|", report, re.M)
    return {"index": int(index.group(1)) if index else None, "warnings": warnings,
            "suggestions": len(suggestions), "seconds": round(seconds, 1)}


def harden(lab_dir: Path, strategy: str) -> dict:
    env = ansible_env(lab_dir, strategy)
    start = time.monotonic()
    result = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(ROOT / "inventories" / "lab"), str(PLAYBOOK)],
                            capture_output=True, text=True, check=False, env=env, cwd=ROOT,
                            stdin=subprocess.DEVNULL, timeout=3600)
    seconds = time.monotonic() - start
    recap = re.search(r"^node1\s+:\s+ok=(\d+)\s+changed=(\d+).*failed=(\d+)", result.stdout, re.M)
    if result.returncode != 0 or not recap:
        raise SystemExit(f"the harden role failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}")
    return {"seconds": round(seconds, 1), "ok": int(recap.group(1)), "changed": int(recap.group(2)),
            "tasks": result.stdout.count("\nTASK [")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strategy", default="linear", choices=STRATEGIES)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    lab_dir = ROOT / "build" / "bench-labs" / "harden"
    coldrig_lab(lab_dir, "down", check=False)
    shutil.rmtree(lab_dir, ignore_errors=True)
    figures: dict = {"strategy": args.strategy}
    try:
        print("booting a fresh lab node...", flush=True)
        coldrig_lab(lab_dir, "up", "--nodes", "1", "--image", "base")
        print("installing Lynis and scoring the bare node (several minutes under TCG)...", flush=True)
        coldrig_lab(lab_dir, "ssh", "node1", "--",
                    "apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get -qq -y install lynis >/dev/null")
        figures["lynis_version"] = coldrig_lab(lab_dir, "ssh", "node1", "--", "lynis --version").stdout.strip()
        before = lynis(lab_dir)
        print(f"  before: index {before['index']}, {len(before['warnings'])} warnings", flush=True)
        print("running the harden role...", flush=True)
        first = harden(lab_dir, args.strategy)
        print(f"  first run {first['seconds']} s, changed={first['changed']}", flush=True)
        print("running it again (idempotence)...", flush=True)
        again = harden(lab_dir, args.strategy)
        print(f"  re-run {again['seconds']} s, changed={again['changed']}", flush=True)
        print("scoring the hardened node...", flush=True)
        after = lynis(lab_dir)
        figures.update({
            "lynis_index_before": before["index"], "lynis_warnings_before": len(before["warnings"]),
            "lynis_suggestions_before": before["suggestions"],
            "harden_first_run_s": first["seconds"], "harden_first_run_changed": first["changed"],
            "harden_rerun_s": again["seconds"], "harden_rerun_changed": again["changed"],
            "harden_tasks_per_run": again["ok"],
            "lynis_index_after": after["index"], "lynis_warnings_after": len(after["warnings"]),
            "lynis_suggestions_after": after["suggestions"], "lynis_audit_s": after["seconds"],
            "lynis_warning_ids_after": ", ".join(f"{test} ({text})" for test, text in after["warnings"]) or "none",
        })
    finally:
        coldrig_lab(lab_dir, "down", check=False)
        shutil.rmtree(lab_dir, ignore_errors=True)

    report("coldrig harden benchmark (fresh lab VM, TCG)", figures, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
