"""Placement of sending domains on nodes: explicit wins, kept never moves, new ones balanced."""

from ansible_collections.coldrig.infra.plugins.module_utils.placement import place

NODES = ["node1", "node2", "node3"]


def fleet(domains, nodes=None):
    """The same list on every node, as group_vars give it."""
    nodes = NODES if nodes is None else nodes
    return dict((node, domains) for node in nodes)


def domains(count, boxes=3):
    return [{"name": "d%03d.test" % i, "mailboxes": boxes} for i in range(count)]


def test_same_inputs_give_the_same_placement_whatever_the_list_order():
    listed = domains(30)
    first = place(fleet(listed), NODES).domains
    second = place(fleet(list(reversed(listed))), NODES).domains
    assert first == second


def test_automatic_placement_balances_domain_and_mailbox_counts():
    listed = [{"name": "big%d.test" % i, "mailboxes": 50} for i in range(3)] + domains(27, boxes=2)
    result = place(fleet(listed), NODES)
    assert not result.errors
    served = result.by_node(NODES)
    assert sorted(len(v) for v in served.values()) == [10, 10, 10]
    homes = dict((node, sum(result.domains[n]["mailboxes"] for n in names)) for node, names in served.items())
    assert max(homes.values()) - min(homes.values()) <= 2, homes
    # each big domain on its own node
    assert sorted(result.domains["big%d.test" % i]["home"] for i in range(3)) == NODES


def test_adding_a_node_never_moves_an_existing_domain():
    listed = domains(30)
    before = place(fleet(listed, NODES[:2]), NODES[:2])
    kept = before.by_node(NODES[:2])
    after = place(fleet(listed + domains(40)[30:]), NODES, kept=kept)
    assert not after.errors
    for name, entry in before.domains.items():
        assert after.domains[name]["home"] == entry["home"], name
        assert after.domains[name]["source"] == "kept"
    # the new domains fill the new node first
    new_homes = [after.domains["d%03d.test" % i]["home"] for i in range(30, 40)]
    assert new_homes.count("node3") == 10


def test_explicit_node_wins_over_automatic_placement():
    listed = domains(6) + [{"name": "pinned.test", "mailboxes": 3, "node": "node3"}]
    result = place(fleet(listed), NODES)
    assert result.domains["pinned.test"] == {"home": "node3", "nodes": ["node3"], "source": "explicit",
                                             "mailboxes": 3}


def test_host_vars_list_places_a_domain_on_that_node():
    specs = {"node1": [], "node2": [{"name": "only-here.test"}], "node3": []}
    assert place(specs, NODES).domains["only-here.test"]["home"] == "node2"


def test_several_nodes_on_purpose_home_is_the_first():
    listed = [{"name": "shared.test", "nodes": ["node2", "node1"], "mailboxes": 4}]
    entry = place(fleet(listed), NODES).domains["shared.test"]
    assert entry == {"home": "node2", "nodes": ["node2", "node1"], "source": "several", "mailboxes": 4}


def test_unknown_node_name_is_refused_naming_the_field():
    result = place(fleet([{"name": "a.test", "node": "mx9"}]), NODES)
    assert result.errors and "coldrig_domains[0] (a.test) of node1.node: 'mx9' not in the inventory" in result.errors[0]


def test_domain_served_by_two_nodes_without_nodes_is_refused():
    result = place(fleet([{"name": "a.test"}]), NODES, kept={"node1": ["a.test"], "node2": ["a.test"]})
    assert any("served by node1, node2 now but has no nodes:" in e for e in result.errors), result.errors


def test_explicit_placement_never_moves_a_kept_domain():
    result = place(fleet([{"name": "a.test", "node": "node2"}]), NODES, kept={"node1": ["a.test"]})
    assert any("would move it away" in e for e in result.errors), result.errors


def test_conflicting_explicit_placements_are_refused():
    specs = {"node1": [{"name": "a.test", "node": "node1"}], "node2": [{"name": "a.test", "node": "node2"}]}
    result = place(specs, NODES)
    assert any("give one placement" in e for e in result.errors), result.errors


def test_cap_per_node_is_enforced():
    result = place(fleet(domains(7)), NODES[:2], max_per_node=3)
    assert any("no node has room" in e for e in result.errors), result.errors
    explicit = [{"name": "x%d.test" % i, "node": "node1"} for i in range(4)]
    result = place(fleet(explicit), NODES, max_per_node=3)
    assert any("node1: would serve 4 domains" in e for e in result.errors), result.errors


def test_plan_lists_every_node_and_domain():
    result = place(fleet(domains(4)), NODES)
    lines = result.plan(NODES)
    assert lines[0].startswith("node1: 2 domain(s)")
    assert "  d000.test -> node1 [auto]" in lines
