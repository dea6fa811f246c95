"""Benchmark of a fleet: 3 lab nodes, 100 sending domains x 3 mailboxes placed automatically.

Prints, against the targets of issue #11 (TCG nodes here: every figure is an emulated one):
  - the wall time of the first playbooks/onboard.yml of the fleet (placement, harden, the
    backend, DKIM and the records of every node pushed once per zone to the lab's real DNS
    server, certificates, 300 mailboxes, a real message per domain, the exports)  <= 10 min;
  - the wall time of its re-run, and its changed count (0)                        <= 3 min;
  - the wall time of adding one domain (playbooks/domain.yml)                      <= 30 s;
  - the wall time of adding 10 domains;
  - the placement: domains and mailboxes per node;
  - DNS requests per zone: the same records (every domain's record set as the fleet
    builds it) pushed to the Cloudflare simulator with coldrig.infra.dns_zones, first push
    and unchanged re-run (target: the zone listing plus <= 2, and plus <= 1);
  - the peak memory of the lab: the highest resident set (VmHWM) of each node's QEMU, summed.

The nodes boot the lab's `mail` image by default (the packages of the harden and postfix
roles already installed, as `make test` does); `--image base` boots the bare image a provider
gives, and the first onboarding then installs them (minutes more under TCG).

Run from the checkout: `.venv/bin/python bench/fleet.py [--image mail|base] [--domains 100]
[--strategy mitogen_linear|linear] [--json FILE]`. It uses a lab of its own under
build/bench-labs/fleet (3 nodes x 1 GiB: about 7 GiB of host memory) and takes it down at the end.
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

TARGETS = {"onboard_first_run_s": 600, "onboard_rerun_s": 180, "add_one_domain_s": 30}


def recap(output: str) -> dict[str, dict[str, int]]:
    hosts = {}
    for host, fields in re.findall(r"^(\S+)\s+:\s+(ok=\d+.*)$", output, re.M):
        hosts[host] = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", fields))
    return hosts


def run_playbook(playbook: str, env: dict, extra: list[str], what: str) -> tuple[float, str]:
    command = [str(BIN / "ansible-playbook"), "-i", str(ROOT / "inventories" / "lab"), str(ROOT / "playbooks" / playbook),
               *extra]
    start = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env, cwd=ROOT,
                            stdin=subprocess.DEVNULL, timeout=7200)
    seconds = round(time.monotonic() - start, 1)
    if result.returncode != 0:
        raise SystemExit(f"{what} failed ({result.returncode}) after {seconds} s:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}")
    return seconds, result.stdout


def qemu_peak_rss_mib() -> float:
    """The sum over the running QEMU processes of their peak resident set (VmHWM), in MiB."""
    total_kib = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if re.search(r"^Name:\s+qemu-system", text, re.M):
            match = re.search(r"^VmHWM:\s+(\d+) kB", text, re.M)
            total_kib += int(match.group(1)) if match else 0
    return round(total_kib / 1024, 1)


def spec(count: int, start: int = 1) -> list[dict]:
    return [{"name": f"fleet{n:03d}.test", "mailboxes": 3, "daily_limit": 20} for n in range(start, start + count)]


def cloudflare_requests(domains: list[dict], nodes: dict[str, dict]) -> dict:
    """The fleet's record sets pushed to the Cloudflare simulator with dns_zones: requests per zone."""
    sys.path.insert(0, str(ROOT))
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder  # pylint: disable=import-outside-toplevel

    _AnsibleCollectionFinder(paths=[str(ROOT / "collections")])._install()  # pylint: disable=protected-access
    from ansible_collections.coldrig.infra.plugins.filter.fleet_placement import fleet_placement  # noqa: E402 pylint: disable=import-outside-toplevel
    from ansible_collections.coldrig.infra.plugins.filter.records_by_zone import records_by_zone  # noqa: E402 pylint: disable=import-outside-toplevel
    from ansible_collections.coldrig.infra.plugins.module_utils.dns_sync import ZONES_ARGUMENT_SPEC, zones_result, argument_spec  # noqa: E402 pylint: disable=import-outside-toplevel
    from ansible_collections.coldrig.infra.plugins.module_utils.mail_records import build_mail_records  # noqa: E402 pylint: disable=import-outside-toplevel
    from tests.support.cloudflare_sim import CloudflareSimulator  # noqa: E402 pylint: disable=import-outside-toplevel

    hostvars = dict((name, dict(node, coldrig_domains=domains)) for name, node in nodes.items())
    placement = fleet_placement(hostvars, list(nodes))
    import base64  # pylint: disable=import-outside-toplevel

    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import rsa  # pylint: disable=import-outside-toplevel

    public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    dkim = "v=DKIM1; k=rsa; p=" + base64.b64encode(public).decode()
    records = []
    for name, node in nodes.items():
        for item in placement["nodes"][name]["served"]:
            records += build_mail_records(item["name"], node["coldrig_ptr"], ipv4=node["coldrig_public_ipv4"],
                                          dkim_selector=item.get("dkim_selector", "s1"), dkim_txt=dkim,
                                          fleet_hosts=item.get("fleet_hosts", ()), mail_host_zone="lab.coldrig.test")
    zones = records_by_zone(records, default_ttl=3600)
    token = "bench-token-0123456789abcdefghijklmnop"
    figures = {}
    with CloudflareSimulator(tokens=[token]) as sim:
        for entry in zones:
            sim.add_zone(entry["zone"])
        params = dict((key, spec_entry.get("default")) for key, spec_entry in argument_spec(None, ZONES_ARGUMENT_SPEC).items())
        params.update(provider="cloudflare", api_token=token, api_base_url=sim.base_url, zones=zones, backup=False)
        for run in ("first", "rerun"):
            sim.reset_metrics()
            result = zones_result(params)
            if result.get("failed"):
                raise SystemExit(f"the Cloudflare push failed: {result['msg']}")
            per_zone = [z["requests"] for z in result["zones"]]
            figures[f"cloudflare_{run}_listing_requests"] = result["listing_requests"]
            figures[f"cloudflare_{run}_requests_per_zone_max"] = max(per_zone)
            figures[f"cloudflare_{run}_requests_total"] = sim.request_count
    figures["cloudflare_zones"] = len(zones)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", default="mail", choices=["mail", "base"])
    parser.add_argument("--domains", type=int, default=100)
    parser.add_argument("--strategy", default="mitogen_linear", choices=STRATEGIES)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    lab_dir = ROOT / "build" / "bench-labs" / "fleet"
    work = Path(tempfile.mkdtemp(prefix="coldrig-bench-fleet-"))
    exports = work / "exports"
    coldrig_lab(lab_dir, "down", check=False)
    shutil.rmtree(lab_dir, ignore_errors=True)
    env = ansible_env(lab_dir, args.strategy)
    domains = spec(args.domains)
    figures: dict = {"image": args.image, "strategy": args.strategy, "nodes": 3, "domains": args.domains,
                     "mailboxes_per_domain": 3}

    def spec_file(items: list[dict]) -> str:
        path = work / f"spec-{len(items)}.json"
        path.write_text(json.dumps({"coldrig_domains": items, "coldrig_exports_dir": str(exports),
                                    "coldrig_max_domains_per_node": 50}))
        return f"@{path}"

    try:
        print("booting 3 lab nodes...", flush=True)
        coldrig_lab(lab_dir, "up", "--nodes", "3", "--image", args.image, timeout=3600)
        print(f"onboarding the fleet ({args.domains} domains x 3 mailboxes, placed automatically)...", flush=True)
        figures["onboard_first_run_s"], first = run_playbook("onboard.yml", env, ["-e", spec_file(domains)], "the onboarding")
        hosts = recap(first)
        figures["onboard_first_run_changed"] = sum(h.get("changed", 0) for h in hosts.values())
        plan = re.findall(r"(node\d\S*: \d+ domain\(s\), \d+ mailbox\(es\))", first)
        figures["placement"] = "; ".join(dict.fromkeys(plan)) or "not found"
        print(f"  {figures['onboard_first_run_s']} s; placement {figures['placement']}", flush=True)

        print("onboarding it again (idempotence)...", flush=True)
        figures["onboard_rerun_s"], again = run_playbook("onboard.yml", env, ["-e", spec_file(domains)], "the re-run")
        figures["onboard_rerun_changed"] = sum(h.get("changed", 0) for h in recap(again).values())
        print(f"  {figures['onboard_rerun_s']} s, changed={figures['onboard_rerun_changed']}", flush=True)

        one = spec(1, start=args.domains + 1)
        print("adding one domain (playbooks/domain.yml)...", flush=True)
        figures["add_one_domain_s"], _out = run_playbook(
            "domain.yml", env, ["-e", spec_file(domains + one), "-e", f"coldrig_only_domains={one[0]['name']}"], "adding one domain")
        print(f"  {figures['add_one_domain_s']} s", flush=True)

        ten = spec(10, start=args.domains + 2)
        print("adding 10 domains (playbooks/domain.yml)...", flush=True)
        figures["add_ten_domains_s"], _out = run_playbook(
            "domain.yml", env, ["-e", spec_file(domains + one + ten), "-e",
                                "coldrig_only_domains=" + ",".join(d["name"] for d in ten)], "adding 10 domains")
        print(f"  {figures['add_ten_domains_s']} s", flush=True)
        figures["lab_peak_rss_mib"] = qemu_peak_rss_mib()

        inventory = json.loads(subprocess.run([str(BIN / "ansible-inventory"), "-i", str(ROOT / "inventories" / "lab"), "--list"],
                                              capture_output=True, text=True, check=True, env=env, cwd=ROOT).stdout)
        nodes = dict((name, {"coldrig_ptr": hv["coldrig_ptr"], "coldrig_public_ipv4": hv["coldrig_public_ipv4"]})
                     for name, hv in sorted(inventory["_meta"]["hostvars"].items()) if "coldrig_ptr" in hv)
        figures.update(cloudflare_requests(domains, nodes))
    finally:
        coldrig_lab(lab_dir, "down", check=False)
        shutil.rmtree(lab_dir, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)

    for name, limit in TARGETS.items():
        figures[f"target_{name}"] = f"{'PASS' if figures[name] <= limit else 'FAIL'} (<= {limit} s)"
    rerun_ok = figures["onboard_rerun_changed"] == 0
    figures["target_onboard_rerun_changed"] = "PASS (0)" if rerun_ok else f"FAIL ({figures['onboard_rerun_changed']})"
    first_ok = figures["cloudflare_first_requests_per_zone_max"] <= 2 and figures["cloudflare_rerun_requests_per_zone_max"] <= 1
    figures["target_cloudflare_requests"] = "PASS (listing + <= 2, + <= 1)" if first_ok else "FAIL"
    report("coldrig fleet benchmark (3 lab VMs, TCG)", figures, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
