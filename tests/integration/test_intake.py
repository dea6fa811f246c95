"""playbooks/intake.yml end to end against the simulators (a real ansible-playbook run, no VM).

The Cloudflare and Namecheap simulators (tests/support/cloudflare_sim.py, namecheap_sim.py) are
simulators, NOT the services: they answer the documented API calls over real HTTP on 127.0.0.1,
and a simulated zone turns active once the simulated registry (Namecheap's simulated domains)
shows the nameservers Cloudflare assigned. The mail node in the inventory is never contacted:
intake.yml runs on the controller only.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.helpers import run_module
from tests.support.cloudflare_sim import CloudflareSimulator, assigned_nameservers
from tests.support.namecheap_sim import DEFAULT_NAMESERVERS, NamecheapSimulator

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TOKEN = "cf-token-0123456789abcdef"
NC_KEY = "nc-key-0123456789abcdef-SECRET"
CLIENT_IP = "198.51.100.7"
DOMAINS = ("alpha-outreach.com", "beta-outreach.co.uk", "gamma-outreach.io")


@pytest.fixture
def registry():
    with NamecheapSimulator() as simulator:
        simulator.add_account("coldrig", NC_KEY, whitelist=[CLIENT_IP])
        simulator.add_account("someone-else", "other-key", whitelist=[CLIENT_IP])
        for name in DOMAINS:
            simulator.add_domain("coldrig", name)
        simulator.add_domain("someone-else", "not-ours.com")
        yield simulator


@pytest.fixture
def cf(registry):
    with CloudflareSimulator(tokens=[TOKEN], registry=registry.nameservers) as simulator:
        yield simulator


def run_intake(tmp_path: Path, cf, registry, domains=DOMAINS, account_id=None, api_key=NC_KEY,
               check: bool = False, intake: bool = True) -> subprocess.CompletedProcess:
    spec = [name if isinstance(name, dict) else {"name": name, "intake": {"registrar": "namecheap", "create_zone": True}}
            for name in domains]
    if not intake:
        spec = [{"name": item["name"]} for item in spec]
    inventory = tmp_path / "hosts.json"
    inventory.write_text(json.dumps({
        "coldrig_role_mta": {"hosts": {"mx1": {"ansible_host": "127.0.0.1", "ansible_port": 9,
                                               "coldrig_domains": spec}}},
        "all": {"vars": {
            "coldrig_dns": {"provider": "cloudflare", "api_token": TOKEN, "api_base_url": cf.base_url},
            "coldrig_cloudflare_account_id": account_id or cf.account_id,
            "coldrig_registrar": {"provider": "namecheap", "api_user": "coldrig", "api_key": api_key,
                                  "client_ip": CLIENT_IP, "api_base_url": registry.base_url},
            "coldrig_intake_wait_timeout": 30, "coldrig_intake_poll_interval": 0.2,
        }},
    }))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_HOME=str(ROOT / ".ansible"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    command = [str(BIN / "ansible-playbook"), "-i", str(inventory), "-e", f"ansible_python_interpreter={sys.executable}",
               str(ROOT / "playbooks" / "intake.yml")]
    if check:
        command.append("--check")
    return subprocess.run(command, capture_output=True, text=True, check=False, env=env, cwd=ROOT, timeout=300,
                          stdin=subprocess.DEVNULL)


def recap(result: subprocess.CompletedProcess) -> dict:
    output = result.stdout + result.stderr
    found = re.search(r"^localhost\s*:\s*(.*)$", output, re.M)
    assert found, output
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", found.group(1))}


def zones(cf) -> dict:
    """Every zone in the simulated account: name -> (status, assigned nameservers)."""
    import httpx  # pylint: disable=import-outside-toplevel

    answer = httpx.get(f"{cf.base_url}/zones", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    return {z["name"]: (z["status"], z["name_servers"]) for z in answer["result"]}


def cf_writes(cf) -> list:
    return [e for e in cf.request_log if e["method"] != "GET"]


def test_intake_of_three_domains_creates_zones_sets_nameservers_awaits_activation_then_records_go_in(
        tmp_path, cf, registry):
    # a push before the intake has no zone to write to
    early = run_module("coldrig.infra.dns_records", {
        "provider": "cloudflare", "zone": DOMAINS[0], "api_token": TOKEN, "api_base_url": cf.base_url,
        "records": [{"type": "A", "name": "mail", "content": "192.0.2.10"}]})
    assert early["failed"], early

    first = run_intake(tmp_path, cf, registry)
    output = first.stdout + first.stderr
    assert first.returncode == 0, output
    assert NC_KEY not in output and TOKEN not in output
    assert recap(first)["changed"] == 2 and recap(first)["failed"] == 0, output  # zones created, nameservers set
    assert zones(cf) == {name: ("active", assigned_nameservers(name)) for name in DOMAINS}
    for name in DOMAINS:
        assert registry.nameservers(name) == assigned_nameservers(name)
    assert registry.writes == 3

    # only then the records go in, with the module dns.yml pushes them with, one write per zone
    for name in DOMAINS:
        pushed = run_module("coldrig.infra.dns_records", {
            "provider": "cloudflare", "zone": name, "api_token": TOKEN, "api_base_url": cf.base_url,
            "records": [{"type": "A", "name": "mail", "content": "192.0.2.10"},
                        {"type": "MX", "name": "@", "content": f"mail.{name}", "priority": 10},
                        {"type": "TXT", "name": "@", "content": "v=spf1 ip4:192.0.2.10 -all"}]})
        assert pushed["changed"] and not pushed["failed"], pushed
        assert len(cf.records(name)) == 3

    writes = len(cf_writes(cf))
    again = run_intake(tmp_path, cf, registry)
    assert again.returncode == 0 and recap(again)["changed"] == 0, again.stdout
    assert len(cf_writes(cf)) == writes and registry.writes == 3


def test_intake_in_check_mode_changes_nothing(tmp_path, cf, registry):
    result = run_intake(tmp_path, cf, registry, check=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert zones(cf) == {} and registry.writes == 0
    assert all(registry.nameservers(name) == DEFAULT_NAMESERVERS for name in DOMAINS)


def test_without_intake_keys_the_play_does_nothing(tmp_path, cf, registry):
    result = run_intake(tmp_path, cf, registry, intake=False)
    assert result.returncode == 0 and recap(result)["changed"] == 0, result.stdout + result.stderr
    assert cf.request_log == [] and registry.request_log == []


def assert_failed_before_any_change(result, cf, registry, message):
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert message in output, output
    assert NC_KEY not in output and "wrong-key-SECRETVALUE" not in output
    assert zones(cf) == {} and cf_writes(cf) == [] and registry.writes == 0
    assert all(registry.nameservers(name) == DEFAULT_NAMESERVERS for name in DOMAINS)


def test_a_domain_not_in_the_registrar_account_fails_before_any_change_naming_domain(tmp_path, cf, registry):
    result = run_intake(tmp_path, cf, registry, domains=DOMAINS + ("not-ours.com",))
    assert_failed_before_any_change(result, cf, registry, "domain: not-ours.com is not in this namecheap account")


def test_a_wrong_registrar_api_key_fails_before_any_change_naming_api_key(tmp_path, cf, registry):
    result = run_intake(tmp_path, cf, registry, api_key="wrong-key-SECRETVALUE")
    assert_failed_before_any_change(result, cf, registry, "check api_key")


def test_a_cloudflare_account_id_that_does_not_exist_fails_before_any_change_naming_account_id(
        tmp_path, cf, registry):
    result = run_intake(tmp_path, cf, registry, account_id="0123456789abcdef0123456789abcdef")
    assert_failed_before_any_change(result, cf, registry, "account_id: '0123456789abcdef0123456789abcdef' does not exist")


def test_a_malformed_account_id_and_an_unknown_intake_key_fail_the_spec_check_naming_the_field(tmp_path, cf, registry):
    result = run_intake(tmp_path, cf, registry, account_id="not-an-id",
                        domains=DOMAINS[:2] + ({"name": DOMAINS[2], "intake": {"registrar": "namecheap", "zone": 1}},))
    assert_failed_before_any_change(result, cf, registry, "coldrig_cloudflare_account_id: 'not-an-id' is not a Cloudflare account id")
    assert "coldrig_domains[2] (gamma-outreach.io).intake: unknown key(s) zone (known: registrar, create_zone" in result.stdout
