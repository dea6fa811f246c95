"""Benchmark: the cloud inventories over 1000 servers, from the Hetzner Cloud and DigitalOcean simulators.

Measures, for each of coldrig's inventory plugins (coldrig.infra.hcloud, coldrig.infra.digitalocean)
and, on the same simulated Hetzner project, hetzner.hcloud's own inventory plugin:

  - first parse: the inventory built with an empty cache (the API is read, the cache written);
  - cached parse: built again from the cache (ansible.builtin.jsonfile);
  - each as the wall time of the parse itself (InventoryManager(sources=[file]) in a fresh Python
    process, after imports), the wall time of that whole process, and the HTTP requests the
    simulator received (a cached parse must make none).

Every figure is the median of --repeat runs (each first parse with an emptied cache). The
simulators run in a process of their own (so their HTTP servers do not share the GIL with the
parse), without rate limits, with servers spread over three locations (regions).

The baseline is hetzner.hcloud from the `ansible` package (ANSIBLE_PACKAGE in bench/_baseline.py)
with the `hcloud` library, installed only for this benchmark into build/bench-venv (created with
/usr/bin/python3 -m venv on first use, shared with bench/dns_cloudflare.py; never into .venv,
never a dependency of coldrig). Its plugin reads the simulator unchanged (api_endpoint option).

Usage, from anywhere (uses the checkout's .venv and collections/):

  .venv/bin/python bench/cloud_inventory.py [--servers 1000] [--repeat 3] [--skip-baseline] [--json FILE]

Targets (issue 6): coldrig's hcloud first parse no slower than hetzner.hcloud's, and every
cached parse under 1 s with 0 requests. Exit status 0 when every parse listed all servers and
every cached parse made no request (targets are printed PASS/FAIL; --strict makes a missed
target exit 2), 1 otherwise. The simulators and the temporary directory are removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from _baseline import ANSIBLE_PACKAGE, ensure_baseline_venv
from _sim_process import SimProcess, serve_commands

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".venv"
HCLOUD_PACKAGE = "hcloud==2.27.0"  # as requirements/constraints.txt pins it
TOKEN = "bench-cloud-token-0123456789abcdef0123456789abcdef0123456789abcdef01234567"
CACHED_TARGET = 1.0

# A fresh Python process that builds the inventory from one source and reports on it.
DRIVER = textwrap.dedent('''\
    import json, sys, time
    started = time.perf_counter()
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import init_plugin_loader
    init_plugin_loader()
    loader = DataLoader()
    imported = time.perf_counter()
    inventory = InventoryManager(loader=loader, sources=[sys.argv[1]])
    parsed = time.perf_counter()
    hosts = inventory.get_hosts()
    sample = hosts[0].get_vars() if hosts else {}
    print(json.dumps({"parse_s": parsed - imported, "import_s": imported - started, "hosts": len(hosts),
                      "groups": len(inventory.groups), "sample": sorted(sample)}))
''')


# ---------------------------------------------------------- simulator process
def serve_sim(kind: str, servers: int) -> int:
    """Child process: one simulator with ``servers`` nodes and a JSON-lines control channel on stdin/stdout."""
    sys.path.insert(0, str(REPO))
    if kind == "hcloud":
        from tests.support.hcloud_sim import HcloudSimulator  # pylint: disable=import-outside-toplevel
        sim: Any = HcloudSimulator(tokens=[TOKEN], rate_limit=None, action_seconds=0)
        for i in range(1, servers + 1):
            sim.add_server("mx%04d.bench.example" % i, location=("fsn1", "nbg1", "hel1")[i % 3],
                           labels={"coldrig_role": "mta", "coldrig_fleet": "bench-%d" % (i % 10)},
                           ptr="mx%04d.bench.example" % i)
    else:
        from tests.support.digitalocean_sim import DigitalOceanSimulator  # pylint: disable=import-outside-toplevel
        sim = DigitalOceanSimulator(tokens=[TOKEN], rate_limit=None, burst_limit=None, action_seconds=0)
        for i in range(1, servers + 1):
            sim.add_droplet("mx%04d.bench.example" % i, region=("fra1", "ams3", "lon1")[i % 3],
                            tags=["coldrig_role:mta", "coldrig_fleet:bench-%d" % (i % 10)])

    def answer(message: dict[str, Any]) -> Any:
        if message["cmd"] == "reset":
            sim.reset_metrics()
            return {"ok": True}
        if message["cmd"] == "stats":
            endpoints: dict[str, int] = {}
            for method, path in sim.requests:
                key = "%s %s" % (method, "/".join("{id}" if p.isdigit() else p for p in path.split("/")))
                endpoints[key] = endpoints.get(key, 0) + 1
            return {"requests": sim.request_count, "endpoints": endpoints}
        return {"error": "unknown command %s" % message["cmd"]}

    return serve_commands(sim, answer)


# ------------------------------------------------------------ baseline venv
def baseline_version(venv: Path) -> str:
    found = sorted(venv.glob("lib/python3*/site-packages/ansible_collections/hetzner/hcloud/MANIFEST.json"))
    if not found:
        raise RuntimeError("hetzner.hcloud is not in %s" % venv)
    return json.loads(found[0].read_text())["collection_info"]["version"]


# --------------------------------------------------------------- measuring
def inventory_file(work: Path, tool: str, base_url: str, cache_dir: Path) -> Path:
    cache = {"cache": True, "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": str(cache_dir),
             "cache_timeout": 3600}
    if tool == "coldrig-hcloud":
        path, config = work / "bench.hcloud.yml", {"plugin": "coldrig.infra.hcloud", "api_endpoint": base_url}
    elif tool == "coldrig-digitalocean":
        path, config = work / "bench.digitalocean.yml", {"plugin": "coldrig.infra.digitalocean",
                                                         "api_endpoint": base_url}
    else:
        path = work / "baseline" / "bench.hcloud.yml"
        config = {"plugin": "hetzner.hcloud.hcloud", "api_endpoint": base_url, "api_token": TOKEN}
    path.parent.mkdir(parents=True, exist_ok=True)
    config.update(cache)
    path.write_text(json.dumps(config) + "\n")
    return path


def run_driver(python: Path, source: Path, env: dict[str, str], timeout: float) -> dict[str, Any]:
    start = time.perf_counter()
    result = subprocess.run([str(python), "-c", DRIVER, str(source)], capture_output=True, text=True, env=env,
                            timeout=timeout, check=False, cwd=str(source.parent))
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError("parsing %s failed (%d):\n%s\n%s" % (
            source, result.returncode, result.stdout[-3000:], result.stderr[-3000:]))
    data = json.loads(result.stdout.strip().splitlines()[-1])
    data["process_s"] = wall
    data["stderr"] = result.stderr.strip()
    return data


def measure(tool: str, sim: SimProcess, python: Path, work: Path, servers: int, repeat: int,
            timeout: float) -> list[dict[str, Any]]:
    cache_dir = work / ("cache-" + tool)
    source = inventory_file(work, tool, sim.base_url, cache_dir)
    env = dict(os.environ)
    for name in ("ANSIBLE_CONFIG", "ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_INVENTORY", "HCLOUD_TOKEN", "HCLOUD_ENDPOINT",
                 "DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN", "DO_API_TOKEN", "DO_API_KEY", "DO_OAUTH_TOKEN"):
        env.pop(name, None)
    (work / "empty.cfg").write_text("[defaults]\n")
    env.update({"ANSIBLE_CONFIG": str(work / "empty.cfg"), "ANSIBLE_HOME": str(work / "ansible-home"),
                "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1", "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "1",
                "ANSIBLE_DEPRECATION_WARNINGS": "0", "PYTHONDONTWRITEBYTECODE": "1"})
    if tool.startswith("coldrig"):
        env["ANSIBLE_COLLECTIONS_PATH"] = str(REPO / "collections")
        env["HCLOUD_TOKEN" if tool == "coldrig-hcloud" else "DIGITALOCEAN_TOKEN"] = TOKEN
    runs: dict[str, list[dict[str, Any]]] = {"first": [], "cached": []}
    for _unused in range(repeat):
        shutil.rmtree(cache_dir, ignore_errors=True)
        for run in ("first", "cached"):
            sim.call("reset")
            data = run_driver(python, source, env, timeout)
            stats = sim.call("stats")
            data.update(requests=stats["requests"], endpoints=stats["endpoints"])
            runs[run].append(data)
    rows = []
    for run, items in runs.items():
        problems = []
        hosts = {item["hosts"] for item in items}
        if hosts != {servers}:
            problems.append("listed %s hosts, not %d" % (sorted(hosts), servers))
        if run == "cached" and tool.startswith("coldrig") and any(item["requests"] for item in items):
            problems.append("a cached parse made %s requests" % [item["requests"] for item in items])
        rows.append({
            "tool": tool, "run": run, "servers": servers, "repeat": len(items),
            "parse_s": statistics.median(item["parse_s"] for item in items),
            "parse_s_all": [round(item["parse_s"], 3) for item in items],
            "process_s": statistics.median(item["process_s"] for item in items),
            "requests": int(statistics.median(item["requests"] for item in items)),
            "endpoints": items[-1]["endpoints"], "groups": items[-1]["groups"], "problems": problems,
            "warnings": sorted({line for item in items for line in item["stderr"].splitlines()
                                if "WARNING" in line.upper()})[:5],
        })
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    fmt = "{:<22} {:<7} {:>7} {:>9} {:>11} {:>9} {:>7}"
    print(fmt.format("inventory plugin", "parse", "servers", "parse s", "process s", "requests", "groups"))
    for r in rows:
        print(fmt.format(r["tool"], r["run"], r["servers"], "%.3f" % r["parse_s"], "%.2f" % r["process_s"],
                         r["requests"], r["groups"]) + ("  PROBLEM" if r["problems"] else ""))


def main() -> int:  # pylint: disable=too-many-locals
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=1000, help="servers (droplets) in each simulator")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is reported")
    parser.add_argument("--skip-baseline", action="store_true", help="measure coldrig only")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per parse (and for pip install)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--strict", action="store_true", help="exit 2 when a target is missed")
    parser.add_argument("--serve-sim", nargs=2, metavar=("KIND", "SERVERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_sim:
        return serve_sim(args.serve_sim[0], int(args.serve_sim[1]))

    signal.signal(signal.SIGTERM, lambda *_unused: (_unused for _unused in ()).throw(KeyboardInterrupt()))
    work = Path(tempfile.mkdtemp(prefix="coldrig-bench-cloud-"))
    sims: list[SimProcess] = []
    rows: list[dict[str, Any]] = []
    info: dict[str, Any] = {"servers": args.servers, "repeat": args.repeat, "cpus": os.cpu_count(),
                            "loadavg_start": os.getloadavg()}
    try:
        baseline = None if args.skip_baseline else ensure_baseline_venv((ANSIBLE_PACKAGE, HCLOUD_PACKAGE), args.timeout)
        hcloud_sim = SimProcess(__file__, ["hcloud", str(args.servers)], timeout=120)
        do_sim = SimProcess(__file__, ["digitalocean", str(args.servers)], timeout=120)
        sims += [hcloud_sim, do_sim]
        print("simulators: hcloud %s, digitalocean %s, %d servers each (own processes)" % (
            hcloud_sim.base_url, do_sim.base_url, args.servers), flush=True)
        python = VENV / "bin" / "python"
        rows += measure("coldrig-hcloud", hcloud_sim, python, work, args.servers, args.repeat, args.timeout)
        rows += measure("coldrig-digitalocean", do_sim, python, work, args.servers, args.repeat, args.timeout)
        if baseline is not None:
            info["baseline"] = "hetzner.hcloud %s (%s, %s)" % (baseline_version(baseline), ANSIBLE_PACKAGE,
                                                               HCLOUD_PACKAGE)
            rows += measure("hetzner.hcloud", hcloud_sim, baseline / "bin" / "python", work, args.servers,
                            args.repeat, args.timeout)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        for sim in sims:
            sim.stop()
        shutil.rmtree(work, ignore_errors=True)
    info["loadavg_end"] = os.getloadavg()

    print()
    print("%d servers per simulator, median of %d; %d CPUs, load average %.2f at start, %.2f at end%s" % (
        args.servers, args.repeat, os.cpu_count() or 0, info["loadavg_start"][0], info["loadavg_end"][0],
        "; baseline " + info["baseline"] if "baseline" in info else ""))
    print("parse s = InventoryManager(sources=[file]) alone; process s = the whole fresh Python process")
    print_table(rows)
    by = {(r["tool"], r["run"]): r for r in rows}
    targets: dict[str, dict[str, Any]] = {}
    for tool in ("coldrig-hcloud", "coldrig-digitalocean"):
        cached = by[(tool, "cached")]
        targets["%s cached parse" % tool] = {"value": "%.3f s, %d requests" % (cached["parse_s"], cached["requests"]),
                                             "target": "< %g s, 0 requests" % CACHED_TARGET,
                                             "pass": cached["parse_s"] < CACHED_TARGET and cached["requests"] == 0}
    if ("hetzner.hcloud", "first") in by:
        ours, theirs = by[("coldrig-hcloud", "first")], by[("hetzner.hcloud", "first")]
        targets["coldrig-hcloud first parse vs hetzner.hcloud"] = {
            "value": "%.3f s vs %.3f s (%.1fx), %d vs %d requests" % (
                ours["parse_s"], theirs["parse_s"], theirs["parse_s"] / ours["parse_s"], ours["requests"],
                theirs["requests"]),
            "target": "no slower", "pass": ours["parse_s"] <= theirs["parse_s"]}
    print()
    for name, target in targets.items():
        print("  %s  %s: %s (target %s)" % ("PASS" if target["pass"] else "FAIL", name, target["value"],
                                            target["target"]))
    print("\nrequests by endpoint (last run of each):")
    for r in rows:
        print("  %-22s %-7s %s" % (r["tool"], r["run"], ", ".join("%s %d" % kv for kv in sorted(r["endpoints"].items()))
                                   or "none"))
    for r in rows:
        for warning in r["warnings"]:
            print("  warning (%s %s): %s" % (r["tool"], r["run"], warning))
    problems = ["%s %s: %s" % (r["tool"], r["run"], p) for r in rows for p in r["problems"]]
    for problem in problems:
        print("PROBLEM " + problem)
    if args.json:
        Path(args.json).write_text(json.dumps({"info": info, "rows": rows, "targets": targets,
                                               "problems": problems}, indent=1) + "\n")
    if problems:
        return 1
    if args.strict and not all(t["pass"] for t in targets.values()):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
