"""Benchmark: coldrig.infra.mailboxes' work for one domain, in this process, on this machine.

Times the module's logic (``plugins/module_utils/mailboxes.run``, what ``main()`` calls; no ansible
start-up) on files in a temporary directory, for 50 and 500 mailboxes (``--counts``), with each
way of hashing: Python's ``crypt`` module and the fallback for Pythons without it (one
``openssl passwd -6 -stdin`` process for all new passwords of a call). For each:

  - create N mailboxes in an empty domain (N passwords, N SHA512-CRYPT hashes, both files written);
  - the unchanged re-run (read, compare, write nothing);
  - N -> N+5 (five more, the rest kept);
  - rotate every password (N hashes again).

Also, unless ``--no-ansible``: the whole module through ``ansible localhost -m`` (AnsiballZ
start-up included) creating 50 mailboxes, to show what the logic weighs against the rest.

The issue's target is 50 mailboxes in one call in at most 5 s on a lab VM, which runs under QEMU
TCG, where code runs about 10 to 20 times slower than here; so the native figure for 50 should stay
well under 0.25 s. The lab VM figure itself is measured separately (it needs the lab).

Usage, from the checkout: ``.venv/bin/python bench/mailboxes.py [--counts 50,500] [--repeat 3]
[--no-ansible] [--json FILE]``. Prints a table; exit status 0 unless a run fails.
"""

from __future__ import annotations

import argparse
import grp
import json
import os
import platform
import pwd
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder  # noqa: E402

_AnsibleCollectionFinder(paths=[str(ROOT / "collections")])._install()  # pylint: disable=protected-access

from ansible_collections.coldrig.infra.plugins.module_utils import mailboxes as mb  # noqa: E402

DOMAIN = "bench.example.test"


def options(base: Path, **extra) -> dict:
    args = {"domain": DOMAIN, "users_dir": str(base / "users"), "state_dir": str(base / "state"),
            "mail_root": str(base / "mail"), "vmail_user": pwd.getpwuid(os.getuid()).pw_name if os.getuid() else "nobody",
            "group": grp.getgrgid(os.getgid()).gr_name}
    args.update(extra)
    return args


def timed(params: dict, hasher) -> tuple[float, dict]:
    start = time.perf_counter()
    result, _unused = mb.run(params, hasher=hasher)
    return time.perf_counter() - start, result


def one_round(count: int, make_hasher) -> dict:
    """Seconds of each step for one fresh domain."""
    base = Path(tempfile.mkdtemp(prefix="coldrig-bench-mailboxes-"))
    try:
        figures = {}
        figures["create"], made = timed(options(base, mailboxes=count), make_hasher())
        assert len(made["added"]) == count
        figures["rerun"], again = timed(options(base, mailboxes=count), make_hasher())
        assert not again["changed"]
        figures["plus5"], more = timed(options(base, mailboxes=count + 5), make_hasher())
        assert len(more["added"]) == 5
        figures["rotate"], rotated = timed(options(base, mailboxes=count + 5, rotate_passwords=True), make_hasher())
        assert len(rotated["rotated"]) == count + 5
        return figures
    finally:
        shutil.rmtree(base)


def through_ansible(count: int) -> float:
    base = Path(tempfile.mkdtemp(prefix="coldrig-bench-mailboxes-"))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_HOME=str(ROOT / ".ansible"),
               ANSIBLE_NO_LOG="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    command = [str(Path(sys.executable).parent / "ansible"), "localhost", "-i", "localhost,", "-c", "local",
               "-e", "ansible_python_interpreter=%s" % sys.executable, "-m", "coldrig.infra.mailboxes",
               "-a", json.dumps(options(base, mailboxes=count))]
    try:
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, check=False, timeout=300,
                              stdin=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit("ansible failed (%d):\n%s%s" % (done.returncode, done.stdout, done.stderr))
        return seconds
    finally:
        shutil.rmtree(base)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--counts", default="50,500", help="mailbox counts, comma-separated (default 50,500)")
    parser.add_argument("--repeat", type=int, default=3, help="fresh domains per figure; the median is shown")
    parser.add_argument("--no-ansible", action="store_true", help="skip the run through ansible")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",") if c]

    hashers = {}
    if mb.has_crypt():
        hashers["crypt"] = mb.CryptHasher
    if shutil.which("openssl"):
        hashers["openssl"] = mb.OpensslHasher
    print("coldrig.infra.mailboxes logic, in process: Python %s on %s, %d CPUs, median of %d fresh domains"
          % (platform.python_version(), platform.machine(), os.cpu_count() or 0, args.repeat))
    print("%-8s %6s %10s %10s %10s %10s %14s" % ("hashing", "N", "create", "re-run", "N+5", "rotate", "create/box"))
    report = {"python": platform.python_version(), "repeat": args.repeat, "logic": []}
    for name, make_hasher in hashers.items():
        for count in counts:
            rounds = [one_round(count, make_hasher) for _unused in range(args.repeat)]
            figure = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
            report["logic"].append(dict(figure, hashing=name, count=count))
            print("%-8s %6d %9.3fs %9.3fs %9.3fs %9.3fs %12.2fms" % (
                name, count, figure["create"], figure["rerun"], figure["plus5"], figure["rotate"],
                1000 * figure["create"] / count))
    if not args.no_ansible:
        seconds = statistics.median(through_ansible(50) for _unused in range(args.repeat))
        report["ansible_50"] = seconds
        print("whole module through `ansible localhost -m` (AnsiballZ start-up included), 50 mailboxes: %.2fs" % seconds)
    print("target: 50 mailboxes in one call in <= 5 s on a lab VM (QEMU TCG, ~10-20x slower than native)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
