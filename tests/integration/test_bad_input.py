"""Bad input fails before anything changes: no SSH connection, no API request, no record.

The playbooks run against an inventory whose node cannot be reached (127.0.0.1, port 9: the
discard port, nothing listens), so a run that tried to change anything would fail with
'unreachable' instead of the input error these tests expect.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFq8pY1mTBNtVyPGzjfXHz0VZ1oHQ2vP7hX7C4J0AAAA ops@example.test"


def run_playbook(tmp_path: Path, playbook: str, host_vars: dict, extra_vars: dict | None = None) -> subprocess.CompletedProcess:
    inventory = tmp_path / "hosts.json"
    host = {"ansible_host": "127.0.0.1", "ansible_port": 9, "ansible_user": "root",
            "ansible_python_interpreter": "/usr/bin/python3", "coldrig_ptr": "mx1.outreach-example.test",
            "coldrig_public_ipv4": "192.0.2.10", "coldrig_admin_ssh_keys": [KEY]}
    host.update(host_vars)
    inventory.write_text(json.dumps({"coldrig_role_mta": {"hosts": {"mx1": host}},
                                     "all": {"vars": {"coldrig_backend": "postfix"}}}))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_HOME=str(ROOT / ".ansible"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    extra = ["-e", json.dumps(extra_vars)] if extra_vars else []
    return subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), *extra, str(ROOT / "playbooks" / playbook)],
                          capture_output=True, text=True, check=False, env=env, cwd=ROOT, timeout=300,
                          stdin=subprocess.DEVNULL)


def assert_failed_before_any_connection(result: subprocess.CompletedProcess, message: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert message in output, output
    assert "UNREACHABLE" not in output, output
    assert "changed=0" in output and "unreachable=0" in output, output


def test_an_empty_admin_key_list_stops_the_harden_role_before_it_connects(tmp_path):
    result = run_playbook(tmp_path, "harden.yml", {"coldrig_admin_ssh_keys": []})
    assert_failed_before_any_connection(
        result, "harden_admin_ssh_keys: the list is empty while root login or password login is to be turned off")


def test_an_ssh_port_above_65535_stops_the_harden_role_before_it_connects(tmp_path):
    result = run_playbook(tmp_path, "harden.yml", {"harden_ssh_port": 70000})
    assert_failed_before_any_connection(result, "harden_ssh_port: 70000 is not 22 nor a port from 1024 to 65535")


def test_a_firewall_port_of_0_stops_the_harden_role_before_it_connects(tmp_path):
    result = run_playbook(tmp_path, "harden.yml", {"harden_firewall_tcp_ports": [0]})
    assert_failed_before_any_connection(result, "every port must be from 1 to 65535")


def test_a_malformed_key_is_named_before_anything_changes(tmp_path):
    result = run_playbook(tmp_path, "harden.yml", {"coldrig_admin_ssh_keys": ["not-a-key"]})
    assert_failed_before_any_connection(result, "is not an SSH public key line")


@pytest.mark.parametrize(("domains", "message"), [
    ([{"name": "outreach-example.test", "dmarc_policy": "maybe"}],
     "coldrig_domains[0] (outreach-example.test).dmarc_policy: 'maybe' is not one of none, quarantine, reject"),
    ([{"name": "outreach-example.test", "spf_extra": ["include:_spf%d.relay.test" % n for n in range(11)]}],
     "coldrig_domains[0] (outreach-example.test).spf_extra"),
    ([{"name": "not a domain!"}], "coldrig_domains[0].name"),
    ([{"name": "outreach-example.test", "mailboxes": 5000}],
     "coldrig_domains[0] (outreach-example.test).mailboxes: 5000 is not from 0 to 1000"),
])
def test_a_bad_spec_stops_the_onboarding_before_any_node_or_record_changes(tmp_path, domains, message):
    result = run_playbook(tmp_path, "onboard.yml", {"coldrig_domains": domains, "coldrig_dns": DNS})
    assert_failed_before_any_connection(result, message)
    assert "PLAY [Harden" not in result.stdout


DNS = {"provider": "rfc2136", "server": "127.0.0.1", "port": 9, "tsig_key_name": "k", "tsig_key_secret": "c2VjcmV0"}
DOMAIN = "outreach-example.test"
SECRET = "s3cr3t-not-base64!"
# Issue 10, item 12: what used to pass the check and fail later (after the node or the zone changed).
LATER_FAILURES = {
    "daily_limit_0": ({"coldrig_domains": [{"name": DOMAIN, "daily_limit": 0}]},
                      "coldrig_domains[0] (%s).daily_limit: 0 is not a whole number of at least 1" % DOMAIN),
    "mailbox_daily_limit_0": ({"coldrig_domains": [{"name": DOMAIN, "mailboxes": [{"local_part": "ana", "daily_limit": 0}]}]},
                              "coldrig_domains[0] (%s).mailboxes[0].daily_limit: 0 is not a whole number of at least 1" % DOMAIN),
    "dkim_selector": ({"coldrig_domains": [{"name": DOMAIN, "dkim_selector": "S_1"}]},
                      "coldrig_domains[0] (%s).dkim_selector: 'S_1' must be lower case" % DOMAIN),
    "role_dkim_selector": ({"mail_dns_dkim_selector": "s 2"}, "mail_dns_dkim_selector: 's 2' has the label"),
    "unknown_dns_key": ({"coldrig_dns": dict(DNS, tsig_secret="c2VjcmV0")},
                        "coldrig_dns: unknown key(s) tsig_secret for provider rfc2136"),
    "unknown_cloudflare_key": ({"coldrig_dns": {"provider": "cloudflare", "api_token": "t", "zone_id": "z"}},
                               "coldrig_dns: unknown key(s) zone_id for provider cloudflare"),
    "tsig_secret_not_base64": ({"coldrig_dns": dict(DNS, tsig_key_secret=SECRET)},
                               "coldrig_dns.tsig_key_secret: the value is not valid base64"),
    "display_name": ({"coldrig_domains": [{"name": DOMAIN, "mailboxes": [{"local_part": "ana", "name": "Ana: Bell"}]}]},
                     "coldrig_domains[0] (%s).mailboxes[0].name: 'Ana: Bell' contains ':'" % DOMAIN),
    "quota": ({"coldrig_domains": [{"name": DOMAIN, "quota": "1.5G"}]},
              "coldrig_domains[0] (%s).quota: '1.5G' is not a size" % DOMAIN),
    "default_quota": ({"coldrig_mailbox_quota": "1.5G"}, "coldrig_mailbox_quota: '1.5G' is not a size"),
}


@pytest.mark.parametrize("host_vars,message", list(LATER_FAILURES.values()), ids=list(LATER_FAILURES))
def test_what_would_fail_later_stops_the_onboarding_before_any_node_or_record_changes(tmp_path, host_vars, message):
    spec = {"coldrig_domains": [{"name": DOMAIN}], "coldrig_dns": DNS}
    spec.update(host_vars)
    result = run_playbook(tmp_path, "onboard.yml", spec)
    assert_failed_before_any_connection(result, message)
    assert "PLAY [Harden" not in result.stdout
    assert SECRET not in result.stdout + result.stderr


def test_a_quota_the_mailboxes_module_takes_passes_the_check(tmp_path):
    # The checker used to refuse 2048k and 10B, which coldrig.infra.mailboxes (Dovecot) takes.
    spec = {"coldrig_domains": [{"name": DOMAIN, "quota": "2048k"}, {"name": "b." + DOMAIN, "quota": "10B"}],
            "coldrig_dns": DNS}
    result = run_playbook(tmp_path, "check.yml", spec)
    # The spec passes; the check then reads the node's placement state, and this node cannot be reached.
    assert "problem(s)" not in result.stdout, result.stdout + result.stderr
    assert "TASK [Read /var/lib/coldrig/placement.json" in result.stdout, result.stdout + result.stderr


# Issue 11: the placement the spec asks for is checked before any node is reached.
PLACEMENT_FAILURES = {
    "unknown_node": ({"coldrig_domains": [{"name": DOMAIN, "node": "mx9"}]},
                     "coldrig_domains[0] (%s) of mx1.node: 'mx9' not in the inventory (its mail nodes: mx1)" % DOMAIN),
    "unknown_nodes": ({"coldrig_domains": [{"name": DOMAIN, "nodes": ["mx1", "mx9"]}]},
                      "coldrig_domains[0] (%s) of mx1.nodes: 'mx9' not in the inventory" % DOMAIN),
    "home_not_in_nodes": ({"coldrig_domains": [{"name": DOMAIN, "node": "mx2", "nodes": ["mx1"]}]},
                          "is not one of its nodes mx1; the home must serve the domain"),
    "over_the_cap": ({"coldrig_max_domains_per_node": 1,
                      "coldrig_domains": [{"name": DOMAIN}, {"name": "b." + DOMAIN}]},
                     "no node has room for it: mx1 each serve 1 domain(s), the cap coldrig_max_domains_per_node is 1"),
    "only_outside_the_spec": ({"coldrig_domains": [{"name": DOMAIN}], "extra_vars": {"coldrig_only_domains": "new.example.test"}},
                              "coldrig_only_domains: new.example.test not in any node's coldrig_domains"),
}


@pytest.mark.parametrize("host_vars,message", list(PLACEMENT_FAILURES.values()), ids=list(PLACEMENT_FAILURES))
def test_a_placement_the_fleet_cannot_have_stops_the_onboarding_before_any_connection(tmp_path, host_vars, message):
    spec = {"coldrig_dns": DNS}
    spec.update(host_vars)
    extra_vars = spec.pop("extra_vars", None)
    result = run_playbook(tmp_path, "onboard.yml", spec, extra_vars)
    assert_failed_before_any_connection(result, message)
    assert "PLAY [Harden" not in result.stdout


def test_a_node_whose_placement_state_cannot_be_read_stops_the_run_before_any_placement(tmp_path):
    # mx1 cannot be reached; mx2 is this machine (connection local), whose state is read.
    inventory = tmp_path / "hosts.json"
    common = {"coldrig_domains": [{"name": DOMAIN}], "coldrig_dns": DNS, "coldrig_admin_ssh_keys": [KEY],
              "ansible_python_interpreter": sys.executable}
    inventory.write_text(json.dumps({"coldrig_role_mta": {"hosts": {
        "mx1": dict(common, ansible_host="127.0.0.1", ansible_port=9, ansible_user="root",
                    coldrig_ptr="mx1.outreach-example.test", coldrig_public_ipv4="192.0.2.10"),
        "mx2": dict(common, ansible_connection="local", coldrig_ptr="mx2.outreach-example.test",
                    coldrig_public_ipv4="192.0.2.11")}}}))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_HOME=str(ROOT / ".ansible"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    result = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), str(ROOT / "playbooks" / "dns.yml")],
                            capture_output=True, text=True, check=False, env=env, cwd=ROOT, timeout=300,
                            stdin=subprocess.DEVNULL)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    # the read play is any_errors_fatal: the run stops there, naming the node; nothing is placed or pushed
    assert "fatal: [mx1]: UNREACHABLE!" in output, output
    assert "TASK [Place the domains" not in output and "TASK [coldrig.infra.mail_dns" not in output, output


def _two_local_nodes(tmp_path, states, domains):
    """Two mail nodes that are this machine (connection local), each with its own placement state file."""
    hosts = {}
    for index, name in enumerate(("mx1", "mx2")):
        state = tmp_path / ("%s-placement.json" % name)
        if states.get(name) is not None:
            state.write_text(json.dumps({"served": states[name], "homes": states[name]}))
        hosts[name] = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                       "coldrig_ptr": "%s.outreach-example.test" % name, "coldrig_public_ipv4": "192.0.2.%d" % (10 + index),
                       "coldrig_admin_ssh_keys": [KEY], "coldrig_domains": domains, "coldrig_dns": DNS,
                       "coldrig_placement_file": str(state)}
    inventory = tmp_path / "hosts.json"
    inventory.write_text(json.dumps({"coldrig_role_mta": {"hosts": hosts}, "all": {"vars": {"coldrig_backend": "postfix"}}}))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_HOME=str(ROOT / ".ansible"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), str(ROOT / "playbooks" / "check.yml")],
                          capture_output=True, text=True, check=False, env=env, cwd=ROOT, timeout=300,
                          stdin=subprocess.DEVNULL)


def test_a_domain_both_nodes_serve_now_without_nodes_stops_the_run_naming_them(tmp_path):
    result = _two_local_nodes(tmp_path, {"mx1": [DOMAIN], "mx2": [DOMAIN]}, [{"name": DOMAIN}])
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "is served by mx1, mx2 now but has no nodes: list" in output, output
    assert "give nodes: [mx1, mx2] to serve it from all of them on purpose, or node: mx1" in output, output


def test_the_plan_is_printed_and_a_kept_domain_stays_on_its_node(tmp_path):
    second = "b." + DOMAIN
    result = _two_local_nodes(tmp_path, {"mx2": [DOMAIN]}, [{"name": DOMAIN}, {"name": second}])
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # mx2 serves DOMAIN (kept, although mx1 is first and emptier); the new domain goes to the emptier mx1
    assert "%s -> mx2 [kept]" % DOMAIN in output, output
    assert "%s -> mx1 [auto]" % second in output, output
