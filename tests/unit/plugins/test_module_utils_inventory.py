from ansible_collections.coldrig.infra.plugins.module_utils.inventory import (
    NORMALISED_VARS,
    label_groups,
    normalise_host_vars,
)


def test_normalised_vars_are_exactly_the_shared_set():
    assert tuple(normalise_host_vars("lab")) == NORMALISED_VARS


def test_empty_values_become_none_and_ptr_loses_its_dot():
    host_vars = normalise_host_vars("hcloud", ipv4="", ipv6=None, ptr="Mail.Example.COM.", labels=None)
    assert host_vars["coldrig_public_ipv4"] is None
    assert host_vars["coldrig_ptr"] == "mail.example.com"
    assert host_vars["coldrig_labels"] == {}


def test_label_groups_are_safe_names_in_a_stable_order():
    labels = {"coldrig_fleet": "eu-1.a", "coldrig_role": "mta", "other": "x"}
    assert label_groups(labels) == ["coldrig_role_mta", "coldrig_fleet_eu_1_a"]
