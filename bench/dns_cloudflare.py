"""Benchmark: mail records of N zones pushed to the Cloudflare simulator.

Measures `coldrig.infra.dns_records` (one call per zone) against
`community.general.cloudflare_dns` (one call per record, the way that module is
used), pushing the same desired state -- 8 mail records per zone -- to the local
Cloudflare API simulator (tests/support/cloudflare_sim.py, run in its own process
so that its HTTP server does not share the GIL with this driver):

  - wall time (and CPU time of all child processes) of `ansible-playbook`, first
    push and unchanged re-run;
  - HTTP requests the simulator received, total and per zone (each request is
    attributed to its zone from its URL: zone id in the path, or ?name= on /zones);
  - changed count (per module invocation, from a callback); the re-run must report 0;
  - afterwards every zone must hold exactly the desired records (checked in the simulator).

coldrig runs in several playbook shapes (one host looping over the zones; one
inventory host per zone with forks 10/25 and strategy linear/free; async + poll 0 +
async_status; with async the action plugin runs the module through Ansible's async
wrapper, one Python start per zone, so this shape is the slowest); the fastest is the
figure, the others are printed too. Every shape pushes to zones of its own, so each
shape's first push is a real first push.

The baseline is community.general from the `ansible` package (ANSIBLE_PACKAGE
in bench/_baseline.py), installed only for this benchmark into build/bench-venv (created with
/usr/bin/python3 -m venv on first use, reused afterwards; never into .venv). Its
cloudflare_dns.py is copied into a temporary library/ with only the API endpoint
constant changed to the simulator's URL (checked: exactly one line differs).

Usage, from anywhere (uses the checkout's .venv and ansible.cfg):

  .venv/bin/python bench/dns_cloudflare.py [--zones 100] [--baseline-zones K]
      [--skip-baseline] [--shapes loop,hosts-free-f25,...] [--json FILE]
      [--baseline-shapes loop,hosts-linear-f25] [--pipelining on|off|config]

The baseline's headline shape is `loop` (one host looping over the 8 x N records);
`--baseline-shapes` adds others for a same-shape comparison. Both tools run with
ANSIBLE_PIPELINING on by default: ansible.cfg sets pipelining under [ssh_connection],
which connection: local does not read. A full run (100 zones, every shape and the
baseline) takes about 35 minutes on 2 CPUs, most of it the baseline.

Targets (issue): <= 3 requests per zone on the first push, <= 2 on an unchanged
re-run, >= 20x less wall time than community.general.cloudflare_dns. Exit status:
0 when every run succeeded and every re-run reported changed=0 (targets are
reported PASS/FAIL but do not change it unless --strict), 1 otherwise.
Everything runs under timeouts; the simulator and the temporary directory are
removed at the end, also on errors and Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import glob
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from _baseline import ANSIBLE_PACKAGE, ensure_baseline_venv
from _sim_process import SimProcess, serve_commands

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".venv"
TOKEN = "bench-token-0123456789"
API_ENDPOINT = "https://api.cloudflare.com/client/v4"
CF_MODULE = "community/general/plugins/modules/cloudflare_dns.py"

# A real RSA-2048 public key (SubjectPublicKeyInfo, DER, base64: 392 characters).
DKIM_KEY = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAkN+qEQqU0EWhAyano21rBqfceN1PYZECX0eDv9cb7JJrGurUi09u/xim9RO80"
    "uuhl50Cb5JiVCzQRuQcAVxbGj749qY2fWAxKXhO/QAwN62cvgCghe4CDLaNbnzvZTj1diVYdfHmfgDHfNnRw2x4O/YAfgGPLq3QDHMvCU0J"
    "IgnsksKjn0dLqzrskBD/UCzyG5SXWZMY4U2FLOo3DQTgFSp9vF3xCfzLzfToXoU3mGLTq4xUzDZYpdb7LUuAqhIhpBEG9AG9IQx8txHlK+g"
    "g/h4uam5tYyEkNaIUqBWov5Yc87DHUJIjic6yeiZC/HhswlJZ5pGlPubvvmkhDTdAcwIDAQAB"
)
TTL = 3600
# (type, name, content with {zone}, priority, exclusive): exclusive = coldrig purge / cloudflare_dns solo
MAIL_RECORDS = [
    ("A", "mail", "192.0.2.10", None, True),
    ("MX", "@", "mail.{zone}", 10, True),
    ("TXT", "@", "v=spf1 ip4:192.0.2.10 ~all", None, False),
    ("TXT", "s1._domainkey", "v=DKIM1; k=rsa; p=" + DKIM_KEY, None, False),
    ("TXT", "_dmarc", "v=DMARC1; p=quarantine; rua=mailto:dmarc@{zone}", None, False),
    ("TXT", "_mta-sts", "v=STSv1; id=20261121T000000", None, False),
    ("A", "mta-sts", "192.0.2.10", None, True),
    ("TXT", "_smtp._tls", "v=TLSRPTv1; rua=mailto:tls@{zone}", None, False),
]
COLDRIG_SHAPES = ["zones", "loop", "hosts-linear-f10", "hosts-linear-f25", "hosts-free-f10", "hosts-free-f25", "loop-async"]
TARGET_FIRST, TARGET_RERUN, TARGET_SPEEDUP = 3, 2, 20.0
# The fleet's push (coldrig.infra.dns_zones, issue #11): one zone listing for all zones, then
# at most 2 requests per zone on a first push and 1 per unchanged zone.
TARGET_ZONES_FIRST, TARGET_ZONES_RERUN = 2, 1

assert len(DKIM_KEY) == 392


# ------------------------------------------------------------------ records
def coldrig_records(zone: str) -> list[dict[str, Any]]:
    out = []
    for rtype, name, content, priority, exclusive in MAIL_RECORDS:
        rec: dict[str, Any] = {"type": rtype, "name": name, "content": content.format(zone=zone), "ttl": TTL}
        if priority is not None:
            rec["priority"] = priority
        if exclusive:
            rec["purge"] = True
        out.append(rec)
    return out


def baseline_records(zone: str) -> list[dict[str, Any]]:
    out = []
    for rtype, name, content, priority, exclusive in MAIL_RECORDS:
        rec: dict[str, Any] = {"zone": zone, "record": name, "type": rtype, "value": content.format(zone=zone),
                               "ttl": TTL}
        if priority is not None:
            rec["priority"] = priority
        if exclusive:
            rec["solo"] = True
        out.append(rec)
    return out


def desired_set(zone: str) -> set[tuple]:
    return {(rtype, zone if name == "@" else f"{name}.{zone}", content.format(zone=zone), priority)
            for rtype, name, content, priority, _exclusive in MAIL_RECORDS}


def plain_txt(content: str) -> str:
    """A TXT value without presentation quoting: '"a" "b"' -> 'ab'; unquoted values unchanged."""
    text = content.strip()
    if not text.startswith('"'):
        return content
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', text)
    return re.sub(r"\\(.)", r"\1", "".join(parts))


# ---------------------------------------------------------- simulator process
def serve_sim(zones: list[str]) -> int:
    """Child process: the simulator plus a JSON-lines control channel on stdin/stdout."""
    sys.path.insert(0, str(REPO))
    from tests.support.cloudflare_sim import CloudflareSimulator  # pylint: disable=import-outside-toplevel

    sim = CloudflareSimulator(tokens=[TOKEN])
    ids = {name: sim.add_zone(name) for name in zones}
    by_id = {zid: name for name, zid in ids.items()}
    log: list[tuple[str, str]] = []
    handle = sim.handle

    def logged(method, target, headers, body, host_header=None):  # the full target (with the query): /zones?name=
        log.append((method, target))
        return handle(method, target, headers, body, host_header)

    sim.handle = logged  # type: ignore[method-assign]

    def answer(message: dict[str, Any]) -> Any:
        cmd = message["cmd"]
        if cmd == "reset":
            del log[:]
            sim.reset_metrics()
            return {"ok": True}
        if cmd == "stats":
            per_zone: dict[str, int] = {}
            endpoints: dict[str, int] = {}
            unattributed = 0
            for method, target in list(log):
                url = urlsplit(target)
                parts = url.path.split("/")  # ['', 'client', 'v4', 'zones', id, 'dns_records', ...]
                zone = None
                if len(parts) > 4 and parts[3] == "zones":
                    zone = by_id.get(parts[4])
                elif parts[3:] == ["zones"]:
                    zone = (parse_qs(url.query).get("name") or [None])[0]
                if zone in ids:
                    per_zone[zone] = per_zone.get(zone, 0) + 1
                else:
                    unattributed += 1
                kind = "/".join("{id}" if len(p) == 32 else p for p in parts[3:])
                endpoints[f"{method} /{kind}"] = endpoints.get(f"{method} /{kind}", 0) + 1
            return {"total": len(log), "sim_total": len(sim.requests), "per_zone": per_zone,
                    "unattributed": unattributed, "endpoints": endpoints}
        if cmd == "records":
            return {zone: [{k: r.get(k) for k in ("type", "name", "content", "priority", "ttl", "proxied")}
                           for r in sim.records(zone)] for zone in message["zones"]}
        return {"error": f"unknown command {cmd}"}

    return serve_commands(sim, answer, zones=ids)


# ------------------------------------------------------------ ansible runs
CALLBACK = textwrap.dedent('''\
    """Collects per-invocation results of the tasks named 'push' and the play recap, as JSON."""
    import json
    import os

    from ansible.plugins.callback import CallbackBase


    class CallbackModule(CallbackBase):
        CALLBACK_VERSION = 2.0
        CALLBACK_TYPE = "aggregate"
        CALLBACK_NAME = "bench_results"
        CALLBACK_NEEDS_ENABLED = True

        def __init__(self, *args, **kwargs):
            super(CallbackModule, self).__init__(*args, **kwargs)
            self.results, self.failures = [], []

        def _add(self, result, failed):
            res = result._result
            if res.get("results") is not None and "item" not in res:
                return  # the summary of a loop: its items were reported one by one
            if failed:
                self.failures.append({"host": result._host.get_name(), "task": result._task.get_name(),
                                      "msg": str(res.get("msg", res))[:2000]})
            if result._task.get_name() != "push":
                return
            self.results.append({"host": result._host.get_name(), "changed": bool(res.get("changed")),
                                 "failed": bool(failed), "requests": res.get("requests")})

        def v2_runner_on_ok(self, result):
            self._add(result, False)

        def v2_runner_item_on_ok(self, result):
            self._add(result, False)

        def v2_runner_on_failed(self, result, ignore_errors=False):
            self._add(result, True)

        def v2_runner_item_on_failed(self, result):
            self._add(result, True)

        def v2_runner_on_unreachable(self, result):
            self._add(result, True)

        def v2_playbook_on_stats(self, stats):
            recap = dict((h, stats.summarize(h)) for h in sorted(stats.processed))
            with open(os.environ["BENCH_RESULTS_FILE"], "w") as handle:
                json.dump({"results": self.results, "failures": self.failures, "recap": recap}, handle)
''')


def parse_shape(shape: str) -> tuple[str, str, int]:
    """'zones' | 'loop' | 'loop-async' | 'hosts-<linear|free>-f<forks>' -> (kind, strategy, forks)."""
    if shape in ("zones", "loop", "loop-async"):
        return shape, "linear", 1
    match = re.fullmatch(r"hosts-(linear|free)-f(\d+)", shape)
    if not match:
        raise ValueError(f"unknown shape {shape!r}: zones, loop, loop-async or hosts-<linear|free>-f<forks>")
    return "hosts", match.group(1), int(match.group(2))


def dump(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=1) + "\n")  # JSON is YAML: playbooks, inventories, vars
    return path


COLDRIG_ARGS = {
    "provider": "cloudflare",
    "api_token": "{{ bench_token }}",
    "api_base_url": "{{ bench_base_url }}",
}
BASELINE_ARGS = {
    "zone": "{{ item.zone }}", "record": "{{ item.record }}", "type": "{{ item.type }}",
    "value": "{{ item.value }}", "ttl": "{{ item.ttl }}", "priority": "{{ item.priority | default(omit) }}",
    "solo": "{{ item.solo | default(omit) }}", "api_token": "{{ bench_token }}",
}


def write_playbook(run_dir: Path, tool: str, shape: str, zones: list[str], interpreter: str) -> tuple[Path, Path, int]:
    """Playbook, inventory and the number of module invocations for one tool and shape."""
    kind, strategy, _forks = parse_shape(shape)
    local = {"ansible_connection": "local", "ansible_python_interpreter": interpreter}
    if kind == "hosts":
        hosts = {f"zone{i:03d}": {"bench_zone": zone} for i, zone in enumerate(zones, 1)}
        inventory = {"all": {"children": {"bench": {"hosts": hosts, "vars": local}}}}
    else:
        inventory = {"all": {"children": {"bench": {"hosts": {"localhost": None}, "vars": local}}}}
    dump(run_dir / "inventory.yml", inventory)

    if tool == "coldrig" and kind == "zones":  # the fleet's push: every zone in one dns_zones task
        task = {"name": "push", "coldrig.infra.dns_zones": dict(COLDRIG_ARGS, zones="{{ bench_zone_entries }}")}
        invocations = 1
    elif tool == "coldrig":
        task: dict[str, Any] = {"name": "push", "coldrig.infra.dns_records": dict(COLDRIG_ARGS)}
        if kind == "hosts":
            task["coldrig.infra.dns_records"].update(zone="{{ bench_zone }}", records="{{ bench_records[bench_zone] }}")
        else:
            task["coldrig.infra.dns_records"].update(zone="{{ item }}", records="{{ bench_records[item] }}")
            task.update(loop="{{ bench_zones }}")
        invocations = len(zones)
    else:
        task = {"name": "push", "cloudflare_dns": dict(BASELINE_ARGS),  # the copy in library/
                "loop_control": {"label": "{{ item.zone }} {{ item.type }} {{ item.record }}"}}
        task["loop"] = ("{{ bench_records[bench_zone] }}" if kind == "hosts"
                        else "{{ bench_zones | map('extract', bench_records) | flatten(levels=1) }}")
        invocations = len(zones) * len(MAIL_RECORDS)
    tasks = [task]
    if kind == "loop-async":
        launch = dict(task, name="launch")
        launch.update({"async": 600, "poll": 0, "register": "bench_jobs",
                       "changed_when": False})  # a launch always says changed: the job's own answer counts
        tasks = [launch, {
            "name": "push", "ansible.builtin.async_status": {"jid": "{{ item.ansible_job_id }}"},
            "loop": "{{ bench_jobs.results }}", "loop_control": {"label": "{{ item.item }}"},
            "register": "bench_job", "until": "bench_job.finished", "retries": 1200, "delay": 0.25,
        }]
    play = {"name": f"{tool} {shape}", "hosts": "bench", "gather_facts": False, "strategy": strategy,
            "tasks": tasks}
    dump(run_dir / "playbook.yml", [play])
    return run_dir / "playbook.yml", run_dir / "inventory.yml", invocations


def ansible_env(venv: Path, work: Path, run_dir: Path, pipelining: str, library: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update({
        "PATH": f"{venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}",
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_HOME": str(work / "ansible-home"),
        "ANSIBLE_ASYNC_DIR": str(work / "async"),  # the async jobs' status files go with the temp dir
        "ANSIBLE_CALLBACK_PLUGINS": str(work / "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "bench_results",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "BENCH_RESULTS_FILE": str(run_dir / "results.json"),
    })
    if pipelining != "config":
        env["ANSIBLE_PIPELINING"] = "True" if pipelining == "on" else "False"
    if library is not None:
        env["ANSIBLE_LIBRARY"] = str(library)
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    return env


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def kill_tree(pid: int) -> None:
    """SIGKILL a process and its descendants. Ansible's workers call setsid(), so its process
    group is not enough; the tree is read from /proc before anything is killed."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    tree, todo = [pid], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            tree.append(child)
            todo.append(child)
    for member in tree:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(member, signal.SIGKILL)


def run_command(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float, log: Path) -> tuple[int, float, float]:
    """Run with a timeout in its own process group; (status, wall s, CPU s of the finished descendants)."""
    cpu0, t0 = children_cpu(), time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=str(cwd), stdout=out, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                stdin=subprocess.DEVNULL, start_new_session=True)
        status = None
        try:
            status = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with open(log, "ab") as tail:
                tail.write(f"\n[bench] killed after the {timeout:.0f} s timeout\n".encode())
        finally:  # timeout, Ctrl-C or SIGTERM: the whole tree, not only ansible-playbook
            if status is None:
                kill_tree(proc.pid)
                status = proc.wait(timeout=30)
    return status, time.monotonic() - t0, children_cpu() - cpu0


def check_state(sim: SimProcess, zones: list[str]) -> list[str]:
    """Zones whose records in the simulator are not exactly the desired ones (with what differs)."""
    problems = []
    current = sim.call("records", zones=zones)
    for zone in zones:
        have = {(r["type"], r["name"], plain_txt(r["content"]) if r["type"] == "TXT" else r["content"],
                 r.get("priority") if r["type"] == "MX" else None) for r in current[zone]}
        want = desired_set(zone)
        if have != want:
            problems.append(f"{zone}: missing {sorted(want - have)[:2]}, extra {sorted(have - want)[:2]}")
    return problems


def measure(sim: SimProcess, tool: str, shape: str, zones: list[str], work: Path, args: argparse.Namespace,
            venv: Path, library: Path | None) -> list[dict[str, Any]]:
    """First push and unchanged re-run of one tool in one shape; one row per run."""
    interpreter = str(venv / "bin" / "python")
    _kind, _strategy, forks = parse_shape(shape)
    rows = []
    for run in ("first", "re-run"):
        run_dir = work / f"{tool}-{shape}-{run}"
        run_dir.mkdir()
        playbook, inventory, invocations = write_playbook(run_dir, tool, shape, zones, interpreter)
        records = {z: coldrig_records(z) if tool == "coldrig" else baseline_records(z) for z in zones}
        extra = dump(run_dir / "vars.json", {"bench_token": TOKEN, "bench_base_url": sim.base_url,
                                             "bench_zones": zones, "bench_records": records,
                                             "bench_zone_entries": [{"zone": z, "records": records[z]} for z in zones]})
        env = ansible_env(venv, work, run_dir, args.pipelining, library)
        cmd = [str(venv / "bin" / "ansible-playbook"), "-i", str(inventory), "-e", f"@{extra}",
               "-f", str(max(forks, 1)), str(playbook)]
        sim.call("reset")
        print(f"  {tool:8} {shape:17} {run:7} ...", end="", flush=True)
        status, wall, cpu = run_command(cmd, env, run_dir, args.timeout, run_dir / "ansible.log")
        stats = sim.call("stats")
        try:
            cb = json.loads((run_dir / "results.json").read_text())
        except (OSError, ValueError):
            cb = {"results": [], "failures": [], "recap": {}}
        results = cb["results"]
        per_zone = [stats["per_zone"].get(z, 0) for z in zones]
        row: dict[str, Any] = {
            "tool": tool, "shape": shape, "run": run, "zones": len(zones), "status": status,
            "wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "requests": stats["total"],
            "requests_per_zone": round(stats["total"] / len(zones), 3),
            "requests_per_zone_max": max(per_zone), "requests_per_zone_min": min(per_zone),
            "unattributed_requests": stats["unattributed"], "endpoints": stats["endpoints"],
            "invocations": len(results), "invocations_expected": invocations,
            "changed": sum(1 for r in results if r["changed"]),
            "recap_changed": sum(h.get("changed", 0) for h in cb["recap"].values()),
            "failed": sum(1 for r in results if r["failed"]),
            "failures": cb["failures"][:5],
            "module_reported_requests": sum(r["requests"] or 0 for r in results) if tool == "coldrig" else None,
            "s_per_invocation": round(wall / max(len(results), 1), 4),
        }
        problems = []
        if status != 0:
            problems.append(f"ansible-playbook exited {status}")
        if len(results) != invocations:
            problems.append(f"{len(results)} of {invocations} invocations reported")
        if cb["failures"]:
            problems.append(f"{len(cb['failures'])} failed: {cb['failures'][0]['msg'][:300]}")
        if run == "re-run" and (row["changed"] or row["recap_changed"]):
            problems.append(f"re-run not idempotent: changed={row['changed']} (recap changed={row['recap_changed']})")
        if stats["sim_total"] != stats["total"]:
            problems.append(f"request log mismatch: {stats['total']} logged, simulator counted {stats['sim_total']}")
        state = check_state(sim, zones)
        if state:
            problems.append(f"{len(state)} zones not in the desired state, e.g. {state[0]}")
        row["problems"] = problems
        rows.append(row)
        print(f" {wall:7.2f} s wall, {cpu:7.2f} s cpu, {stats['total']:5} requests, changed={row['changed']}"
              + ("" if not problems else "  PROBLEM: " + "; ".join(problems)), flush=True)
        if problems:
            print(textwrap.indent("\n".join((run_dir / "ansible.log").read_text(errors="replace").splitlines()[-25:]),
                                  "    | "), flush=True)
    return rows


# ------------------------------------------------------------- baseline
def patched_cloudflare_dns(venv: Path, base_url: str, library: Path) -> dict[str, str]:
    """Copy cloudflare_dns.py into ``library`` with only the API endpoint constant changed."""
    found = sorted(glob.glob(str(venv / "lib" / "python3*" / "site-packages" / "ansible_collections" / CF_MODULE)))
    if not found:
        raise RuntimeError(f"{CF_MODULE} not found in {venv}")
    source = Path(found[0])
    text = source.read_text()
    pattern = re.compile(r"^(\s*cf_api_endpoint\s*=\s*)(['\"])" + re.escape(API_ENDPOINT) + r"\2[ \t]*$", re.M)
    if len(pattern.findall(text)) != 1:
        raise RuntimeError(f"{source}: expected exactly one `cf_api_endpoint = '{API_ENDPOINT}'` line; "
                           "the module changed, look how it builds its URLs now")
    patched = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}{base_url}{m.group(2)}", text)
    diff = [line for line in difflib.unified_diff(text.splitlines(), patched.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert len(diff) == 2, diff
    library.mkdir(parents=True, exist_ok=True)
    (library / "cloudflare_dns.py").write_text(patched)
    manifest = source.parents[2] / "MANIFEST.json"
    version = json.loads(manifest.read_text())["collection_info"]["version"] if manifest.exists() else "?"
    return {"source": str(source), "community_general": version, "changed_line": diff[1][1:].strip()}


# --------------------------------------------------------------- report
def scaled(row: dict[str, Any], factor: float) -> dict[str, Any]:
    """A baseline row measured on fewer zones, extrapolated linearly to the coldrig zone count."""
    out = dict(row)
    for key in ("wall_s", "cpu_s"):
        out[key] = round(row[key] * factor, 3)
    for key in ("requests", "changed", "invocations"):
        out[key] = round(row[key] * factor)
    out["extrapolated_from_zones"], out["zones"] = row["zones"], round(row["zones"] * factor)
    return out


def print_table(rows: list[dict[str, Any]]) -> None:
    head = ("tool", "shape", "run", "zones", "wall s", "cpu s", "requests", "req/zone", "max/zone", "changed",
            "calls", "s/call")
    fmt = "{:<8} {:<17} {:<7} {:>5} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>6} {:>7}"
    print(fmt.format(*head))
    for r in rows:
        extra = f"  (extrapolated from {r['extrapolated_from_zones']} zones)" if r.get("extrapolated_from_zones") else ""
        bad = "  PROBLEM" if r["problems"] else ""
        print(fmt.format(r["tool"], r["shape"], r["run"], r["zones"], f"{r['wall_s']:.2f}", f"{r['cpu_s']:.2f}",
                         r["requests"], f"{r['requests_per_zone']:.2f}", r["requests_per_zone_max"], r["changed"],
                         r["invocations"], f"{r['s_per_invocation']:.3f}") + extra + bad)


def interrupted(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> int:  # pylint: disable=too-many-locals,too-many-branches,too-many-statements
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--zones", type=int, default=100, help="zones per tool (default 100)")
    parser.add_argument("--baseline-zones", type=int, help="zones for the baseline (default --zones); "
                        "fewer are extrapolated linearly to --zones")
    parser.add_argument("--skip-baseline", action="store_true", help="measure coldrig only")
    parser.add_argument("--shapes", default=",".join(COLDRIG_SHAPES),
                        help="coldrig playbook shapes, comma-separated (default: %(default)s)")
    parser.add_argument("--baseline-shapes", default="loop",
                        help="baseline shapes (default: loop = one host looping over the 8 x N records)")
    parser.add_argument("--pipelining", choices=["on", "off", "config"], default="on",
                        help="ANSIBLE_PIPELINING for both tools (default on; 'config' leaves ansible.cfg's, "
                             "whose [ssh_connection] pipelining does not apply to connection: local)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per ansible-playbook run")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--strict", action="store_true", help="exit 2 when a target is missed")
    parser.add_argument("--serve-sim", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_sim:
        return serve_sim(json.loads(sys.stdin.readline()))

    shapes = [s for s in args.shapes.split(",") if s]
    baseline_shapes = [s for s in args.baseline_shapes.split(",") if s]
    for shape in shapes + baseline_shapes:
        parse_shape(shape)
    if "loop-async" in baseline_shapes:
        parser.error("loop-async is a coldrig shape only")
    n = args.zones
    k = min(args.baseline_zones or n, n)
    coldrig_zones = {s: [f"zone{i:03d}.{s}.coldrig.test" for i in range(1, n + 1)] for s in shapes}
    baseline_zones = {s: [f"zone{i:03d}.{s}.baseline.test" for i in range(1, k + 1)] for s in baseline_shapes}
    if args.skip_baseline:
        baseline_zones = {}

    signal.signal(signal.SIGTERM, interrupted)  # cleaned up like Ctrl-C
    started = time.time()
    work = Path(tempfile.mkdtemp(prefix="coldrig-bench-dns-"))
    (work / "callback_plugins").mkdir()
    (work / "callback_plugins" / "bench_results.py").write_text(CALLBACK)
    sim = None
    rows: list[dict[str, Any]] = []
    info: dict[str, Any] = {"zones": n, "baseline_zones": k if baseline_zones else 0, "pipelining": args.pipelining,
                            "cpus": os.cpu_count(), "loadavg_start": os.getloadavg()}
    try:
        baseline_venv = None
        if baseline_zones:
            baseline_venv = ensure_baseline_venv((ANSIBLE_PACKAGE,), args.timeout)
        all_zones = [z for zs in list(coldrig_zones.values()) + list(baseline_zones.values()) for z in zs]
        sim = SimProcess(__file__, [], first_line=all_zones)
        print(f"simulator at {sim.base_url} (own process, pid {sim.proc.pid}), {len(all_zones)} zones; "
              f"{n} zones per coldrig shape, {k if baseline_zones else 0} per baseline shape", flush=True)
        for shape in shapes:
            rows += measure(sim, "coldrig", shape, coldrig_zones[shape], work, args, VENV, None)
        if baseline_venv is not None:
            info["baseline"] = patched_cloudflare_dns(baseline_venv, sim.base_url, work / "library")
            print(f"baseline: community.general {info['baseline']['community_general']} cloudflare_dns, "
                  f"copied with one line changed: {info['baseline']['changed_line']}", flush=True)
            for shape in baseline_shapes:
                rows += measure(sim, "baseline", shape, baseline_zones[shape], work, args, baseline_venv,
                                work / "library")
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        if sim is not None:
            sim.stop()
        shutil.rmtree(work, ignore_errors=True)
    info["loadavg_end"] = os.getloadavg()
    info["total_s"] = round(time.time() - started, 1)

    # ---- figures
    def pair(tool: str, shape: str) -> dict[str, dict[str, Any]]:
        return {r["run"]: r for r in rows if r["tool"] == tool and r["shape"] == shape}

    ok_shapes = [s for s in shapes if all(not r["problems"] for r in pair("coldrig", s).values())]
    best = min(ok_shapes, key=lambda s: sum(r["wall_s"] for r in pair("coldrig", s).values()), default=None)
    table = [r for r in rows if r["tool"] == "coldrig"]
    baseline_rows: dict[str, dict[str, dict[str, Any]]] = {}
    for shape in baseline_zones:
        runs = pair("baseline", shape)
        if k < n:
            runs = {run: scaled(r, n / k) for run, r in runs.items()}
        baseline_rows[shape] = runs
        table += list(runs.values())
    print()
    print(f"{n} zones x {len(MAIL_RECORDS)} mail records, Cloudflare simulator; {os.cpu_count()} CPUs, "
          f"load average {info['loadavg_start'][0]:.2f} at start, {info['loadavg_end'][0]:.2f} at end; "
          f"pipelining {args.pipelining}")
    print_table(table)
    figures: dict[str, Any] = {"best_coldrig_shape": best}
    targets: dict[str, Any] = {}
    if best:
        first, rerun = pair("coldrig", best)["first"], pair("coldrig", best)["re-run"]
        print(f"\ncoldrig figure: shape {best}: first push {first['wall_s']:.2f} s, re-run {rerun['wall_s']:.2f} s")
        others = ", ".join(f"{s} {sum(r['wall_s'] for r in pair('coldrig', s).values()):.1f} s"
                           for s in shapes if s != best)
        if others:
            print(f"  other shapes (first + re-run): {others}")
        targets["first_push_requests_per_zone"] = {
            "value": first["requests_per_zone_max"], "target": f"<= {TARGET_FIRST}",
            "pass": first["requests_per_zone_max"] <= TARGET_FIRST}
        targets["rerun_requests_per_zone"] = {
            "value": rerun["requests_per_zone_max"], "target": f"<= {TARGET_RERUN}",
            "pass": rerun["requests_per_zone_max"] <= TARGET_RERUN}
        fleet = pair("coldrig", "zones")
        if fleet and all(not r["problems"] for r in fleet.values()):
            for run, limit in (("first", TARGET_ZONES_FIRST), ("re-run", TARGET_ZONES_RERUN)):
                row = fleet[run]
                targets[f"zones_{run}_requests_per_zone"] = {
                    "value": f"{row['unattributed_requests']} listing + {row['requests_per_zone_max']} per zone",
                    "target": f"listing + <= {limit} per zone", "pass": row["requests_per_zone_max"] <= limit}
        main_baseline = baseline_rows.get("loop") or next(iter(baseline_rows.values()), None)
        if main_baseline and all(not r["problems"] for r in main_baseline.values()):
            for run in ("first", "re-run"):
                ratio = main_baseline[run]["wall_s"] / pair("coldrig", best)[run]["wall_s"]
                targets[f"speedup_{run}"] = {"value": round(ratio, 2), "target": f">= {TARGET_SPEEDUP:g}x",
                                             "pass": ratio >= TARGET_SPEEDUP}
            for shape, runs in baseline_rows.items():
                for run in ("first", "re-run"):
                    figures[f"speedup_vs_baseline_{shape}_{run}"] = round(
                        runs[run]["wall_s"] / pair("coldrig", best)[run]["wall_s"], 2)
        print()
        if k < n and baseline_rows:
            print(f"baseline EXTRAPOLATED linearly from {k} zones to {n} (wall, cpu, requests, changed x {n / k:g})")
        for shape in baseline_rows:
            for run in ("first", "re-run"):
                print(f"speed-up, {run:7}: baseline ({shape}) wall / coldrig ({best}) wall = "
                      f"{figures.get(f'speedup_vs_baseline_{shape}_{run}', float('nan')):.1f}x")
        for name, t in targets.items():
            print(f"  {'PASS' if t['pass'] else 'FAIL'}  {name}: {t['value']} (target {t['target']})")
    print("\nrequests by endpoint (measured zones):")
    for r in rows:
        if (r["tool"] == "coldrig" and r["shape"] == best) or r["tool"] == "baseline":
            print(f"  {r['tool']:8} {r['shape']:17} {r['run']:7} "
                  + ", ".join(f"{k} {v}" for k, v in sorted(r["endpoints"].items())))
    problems = [f"{r['tool']} {r['shape']} {r['run']}: {p}" for r in rows for p in r["problems"]]
    for p in problems:
        print(f"PROBLEM {p}")
    if args.json:
        Path(args.json).write_text(json.dumps({"info": info, "rows": rows, "table": table, "figures": figures,
                                               "targets": targets, "problems": problems}, indent=1) + "\n")
    if problems or best is None:
        return 1
    if args.strict and not all(t["pass"] for t in targets.values()):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
