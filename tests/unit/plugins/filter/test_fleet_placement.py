"""coldrig.infra.fleet_placement: the placement of the fleet's domains as the playbooks use it."""

from __future__ import annotations

from ansible_collections.coldrig.infra.plugins.filter.fleet_placement import fleet_placement
from ansible_collections.coldrig.infra.plugins.module_utils.mail_records import build_mail_records, mta_sts_policy_for

NODES = ["node1", "node2"]
SPEC = [
    {"name": "one.test", "node": "node1", "mailboxes": 50},
    {"name": "two.test", "mailboxes": 3},
    {"name": "shared.test", "nodes": ["node2", "node1"], "mailboxes": 2},
]


def hostvars(spec=None, **extra):
    spec = SPEC if spec is None else spec
    return {
        "node1": dict({"coldrig_domains": spec, "coldrig_ptr": "node1.lab.test", "coldrig_public_ipv4": "192.0.2.1"}, **extra),
        "node2": dict({"coldrig_domains": spec, "coldrig_ptr": "node2.lab.test", "coldrig_public_ipv4": "192.0.2.2"}, **extra),
    }


def served(result, node):
    return {item["name"]: item for item in result["nodes"][node]["served"]}


def test_explicit_placement_wins_and_a_new_domain_goes_to_the_least_loaded_node():
    result = fleet_placement(hostvars(), NODES)
    assert result["errors"] == []
    assert result["domains"]["one.test"]["home"] == "node1"
    assert result["domains"]["shared.test"]["home"] == "node2"
    # node1 serves one.test and shared.test, node2 only shared.test: two.test goes to node2
    assert result["domains"]["two.test"]["home"] == "node2"
    assert sorted(served(result, "node1")) == ["one.test", "shared.test"]
    assert result["nodes"]["node1"]["state"] == {"served": ["one.test", "shared.test"], "homes": ["one.test"]}


def test_a_domain_on_several_nodes_has_every_node_in_its_records_and_mailboxes_only_at_home():
    result = fleet_placement(hostvars(), NODES)
    home, other = served(result, "node2")["shared.test"], served(result, "node1")["shared.test"]
    assert home["fleet"]["is_home"] and not other["fleet"]["is_home"]
    assert home["fleet_hosts"] == other["fleet_hosts"] == [
        {"mail_host": "node2.lab.test", "ipv4": "192.0.2.2", "ipv6": None},
        {"mail_host": "node1.lab.test", "ipv4": "192.0.2.1", "ipv6": None}]
    assert home["mailboxes"] == 2 and other["mailboxes"] == 0
    assert "dkim_selector" not in home and other["dkim_selector"] == "node1-s1"
    records = build_mail_records("shared.test", "node1.lab.test", ipv4="192.0.2.1", fleet_hosts=other["fleet_hosts"],
                                 mta_sts_mode="enforce")
    mx = sorted(r["content"] for r in records if r["type"] == "MX")
    spf = [r["content"] for r in records if r["type"] == "TXT" and r["content"].startswith("v=spf1")]
    assert mx == ["node1.lab.test", "node2.lab.test"]
    assert spf == ["v=spf1 ip4:192.0.2.2 ip4:192.0.2.1 ~all"]
    assert sorted(r["content"] for r in records if r["name"] == "mta-sts.shared.test") == ["192.0.2.1", "192.0.2.2"]
    policy = mta_sts_policy_for("shared.test", "node1.lab.test", "enforce", fleet_hosts=other["fleet_hosts"])
    assert "mx: node2.lab.test\r\nmx: node1.lab.test\r\n" in policy["content"]
    # both nodes build the same records apart from their own mail host's A record
    twin = build_mail_records("shared.test", "node2.lab.test", ipv4="192.0.2.2", fleet_hosts=home["fleet_hosts"],
                              mta_sts_mode="enforce")
    assert [r for r in records if r["name"] != "node1.lab.test"] == [r for r in twin if r["name"] != "node2.lab.test"]


def test_the_selector_of_a_second_node_follows_the_spec_selector():
    spec = [{"name": "shared.test", "nodes": ["node1", "node2"], "dkim_selector": "mar"}]
    result = fleet_placement(hostvars(spec), NODES)
    assert served(result, "node1")["shared.test"]["dkim_selector"] == "mar"
    assert served(result, "node2")["shared.test"]["dkim_selector"] == "node2-mar"


def test_kept_domains_stay_where_they_are_when_a_node_is_added():
    first = fleet_placement(hostvars(), NODES)
    kept = dict((node, first["nodes"][node]["state"]["served"]) for node in NODES)
    bigger = hostvars()
    bigger["node3"] = {"coldrig_domains": SPEC, "coldrig_ptr": "node3.lab.test", "coldrig_public_ipv4": "192.0.2.3"}
    again = fleet_placement(bigger, NODES + ["node3"], kept=kept)
    assert again["errors"] == []
    assert dict((n, d["home"]) for n, d in again["domains"].items()) == dict((n, d["home"]) for n, d in first["domains"].items())


def test_only_limits_the_run_list_but_not_what_each_node_serves():
    result = fleet_placement(hostvars(), NODES, only="two.test")
    assert [i["name"] for i in result["nodes"]["node2"]["run"]] == ["two.test"]
    assert result["nodes"]["node1"]["run"] == []
    assert sorted(i["name"] for i in result["nodes"]["node2"]["served"]) == ["shared.test", "two.test"]


def test_only_naming_a_domain_outside_the_spec_is_an_error_naming_it():
    result = fleet_placement(hostvars(), NODES, only=["two.test", "nowhere.test"])
    assert any("coldrig_only_domains: nowhere.test not in any node's coldrig_domains" in e for e in result["errors"])


def test_a_node_name_outside_the_inventory_and_a_full_node_are_errors_before_anything_changes():
    spec = [{"name": "a.test", "node": "node9"}, {"name": "b.test"}, {"name": "c.test"}, {"name": "d.test"}]
    result = fleet_placement(hostvars(spec), NODES, max_per_node=1)
    text = "\n".join(result["errors"])
    assert "'node9' not in the inventory" in text
    assert "coldrig_max_domains_per_node is 1" in text
    assert result["nodes"]["node1"]["served"] == []
