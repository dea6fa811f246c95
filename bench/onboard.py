"""Benchmark of the whole onboarding on a fresh lab VM, and of mailbox seeding there.

Prints:
  - the wall time of playbooks/onboard.yml on a fresh node (harden, Postfix/Dovecot/OpenDKIM,
    DKIM and DNS, the TLS certificate from the lab's ACME server, the spec's mailboxes, the
    deliverability check, the exports), its changed count, and the check's result;
  - the wall time of the idempotent re-run (and its changed count, 0 expected);
  - the wall time of one coldrig.infra.mailboxes call seeding 50, then 500 mailboxes in new
    domains on that node (the whole call: connection, module start-up, hashing, files).

The spec is the lab's (inventories/lab/group_vars/all.yml: one domain, 50 mailboxes).
Ansible runs with ansible-core's linear strategy unless --strategy mitogen_linear (the
accelerator the lab and CI use). Nodes run under TCG here: every figure is an emulated one.

Run as root from the checkout: `.venv/bin/python bench/onboard.py [--strategy S] [--json FILE]`.
It uses a lab directory of its own under build/bench-labs and takes it down at the end.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _lab_bench import BIN, ROOT, STRATEGIES, ansible_env, coldrig_lab, report  # noqa: E402  pylint: disable=wrong-import-position


def timed(command: list[str], env: dict, what: str) -> tuple[float, str]:
    start = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env, cwd=ROOT,
                            stdin=subprocess.DEVNULL, timeout=7200)
    seconds = round(time.monotonic() - start, 1)
    if result.returncode != 0:
        raise SystemExit(f"{what} failed ({result.returncode}):\n{result.stdout[-5000:]}\n{result.stderr[-2000:]}")
    return seconds, result.stdout


def recap_changed(output: str) -> int:
    return sum(int(n) for n in re.findall(r"^\S+\s+:\s+ok=\d+\s+changed=(\d+)", output, re.M))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strategy", default="linear", choices=STRATEGIES)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    lab_dir = ROOT / "build" / "bench-labs" / "onboard"
    exports = Path(tempfile.mkdtemp(prefix="coldrig-bench-exports-"))
    coldrig_lab(lab_dir, "down", check=False)
    shutil.rmtree(lab_dir, ignore_errors=True)
    env = ansible_env(lab_dir, args.strategy)
    playbook = [str(BIN / "ansible-playbook"), "-i", str(ROOT / "inventories" / "lab"),
                str(ROOT / "playbooks" / "onboard.yml"), "-e", f"coldrig_exports_dir={exports}"]
    figures: dict = {"strategy": args.strategy}
    try:
        print("booting a fresh lab node...", flush=True)
        coldrig_lab(lab_dir, "up", "--nodes", "1", "--image", "base")
        print("onboarding it (harden, backend, DKIM, DNS, TLS, 50 mailboxes, check, exports)...", flush=True)
        figures["onboard_first_run_s"], first = timed(playbook, env, "the onboarding")
        figures["onboard_first_run_changed"] = recap_changed(first)
        checks = re.findall(r"^\s*- '\s+(tls|dkim|spf|dmarc|ptr_helo)\s+(pass|fail|skip)", first, re.M)
        figures["deliverability_checks"] = ", ".join(f"{name} {result}" for name, result in checks) or "not found"
        print(f"  {figures['onboard_first_run_s']} s, changed={figures['onboard_first_run_changed']}", flush=True)
        print("onboarding it again (idempotence)...", flush=True)
        figures["onboard_rerun_s"], again = timed(playbook, env, "the re-run")
        figures["onboard_rerun_changed"] = recap_changed(again)
        print(f"  {figures['onboard_rerun_s']} s, changed={figures['onboard_rerun_changed']}", flush=True)
        for count in (50, 500):
            print(f"seeding {count} mailboxes in one call...", flush=True)
            seconds, output = timed(
                [str(BIN / "ansible"), "-i", str(ROOT / "inventories" / "lab"), "node1", "--become",
                 "-e", "ansible_user=coldrig", "-m", "coldrig.infra.mailboxes",
                 "-a", json.dumps({"domain": f"bench{count}.test", "mailboxes": count})],
                env, f"seeding {count} mailboxes")
            if f'"bench{count}.test"' not in output and f"bench{count}.test" not in output:
                raise SystemExit(f"the module did not report the domain:\n{output[-2000:]}")
            figures[f"seed_{count}_mailboxes_s"] = seconds
    finally:
        coldrig_lab(lab_dir, "down", check=False)
        shutil.rmtree(lab_dir, ignore_errors=True)
        shutil.rmtree(exports, ignore_errors=True)

    report("coldrig onboarding benchmark (fresh lab VM, TCG)", figures, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
