"""The provisioning spec check (coldrig.infra.cloud_plan): defaults, counts, and errors that name the key."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.coldrig.infra.plugins.filter.cloud_plan import cloud_plan

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGw9OFQ8oDA4wwbwkPNRybfB7sHxAT7uTvDK0TfsRuCN ops@example.test"
ENV = {"HCLOUD_TOKEN": "t", "DIGITALOCEAN_TOKEN": "t"}


def cloud(**extra):
    spec = {"provider": "hcloud", "ssh_keys": [KEY], "defaults": {"type": "cx22", "location": "fsn1"}}
    spec.update(extra)
    return spec


def fails(spec, nodes, environ=None) -> str:
    with pytest.raises(AnsibleFilterError) as caught:
        cloud_plan(spec, nodes, ENV if environ is None else environ)
    return str(caught.value)


def test_nodes_get_defaults_role_mta_and_the_providers_image():
    plan = cloud_plan(cloud(), [{"name": "MX1.Example.com."}], ENV)
    assert plan["nodes"] == [{"name": "mx1.example.com", "server_type": "cx22", "image": "debian-12",
                              "location": "fsn1", "labels": {"coldrig_role": "mta"}}]
    assert plan["cloud"] == {"provider": "hcloud", "api_endpoint": None, "has_token": False, "ssh_keys": [KEY],
                             "ssh_user": "root", "ssh_port": 22, "admin_user": None, "admin_ssh_keys": None,
                             "user_data": None, "wait_timeout": 600}
    do_plan = cloud_plan(cloud(provider="digitalocean"), [{"name": "mx1.example.com"}], ENV)
    assert do_plan["nodes"][0]["image"] == "debian-12-x64"


def test_a_count_expands_the_name_pattern_and_role_and_fleet_become_labels():
    plan = cloud_plan(cloud(), [{"name": "mx{n:02d}.example.com", "count": 3, "start": 9, "role": "relay",
                                 "fleet": "eu-1", "type": "cpx11", "labels": {"team": "ops"}}], ENV)
    assert [n["name"] for n in plan["nodes"]] == ["mx09.example.com", "mx10.example.com", "mx11.example.com"]
    assert plan["nodes"][0]["labels"] == {"team": "ops", "coldrig_role": "relay", "coldrig_fleet": "eu-1"}
    assert {n["server_type"] for n in plan["nodes"]} == {"cpx11"}


def test_no_token_anywhere_is_an_error_before_any_request():
    message = fails(cloud(), [{"name": "mx1.example.com"}], environ={})
    assert message.startswith("coldrig_cloud.api_token: not given, and none of HCLOUD_TOKEN is set")
    assert cloud_plan(cloud(api_token="x"), [{"name": "mx1.example.com"}], {})["cloud"]["has_token"]


def test_admin_user_takes_the_ssh_keys_unless_it_has_its_own():
    plan = cloud_plan(cloud(admin_user="ops"), [{"name": "mx1.example.com"}], ENV)
    assert plan["cloud"]["admin_ssh_keys"] == [KEY]


@pytest.mark.parametrize("spec,nodes,message", [
    (None, [{"name": "a.example.com"}], "coldrig_cloud: must be a mapping, not nothing"),
    (cloud(provider="aws"), [{"name": "a.example.com"}], "coldrig_cloud.provider: 'aws' is not one of hcloud, digitalocean"),
    (cloud(region="x"), [{"name": "a.example.com"}], "coldrig_cloud.region: unknown key; the keys are provider,"),
    (cloud(ssh_keys=[]), [{"name": "a.example.com"}], "coldrig_cloud.ssh_keys: give at least one OpenSSH public key"),
    (cloud(ssh_keys=["not a key"]), [{"name": "a.example.com"}], "coldrig_cloud.ssh_keys[0]: not an OpenSSH public key"),
    (cloud(admin_user="Root!"), [{"name": "a.example.com"}], "coldrig_cloud.admin_user: 'Root!' is not a Linux user"),
    (cloud(admin_user="ops", user_data="#cloud-config"), [{"name": "a.example.com"}],
     "coldrig_cloud.user_data: give either admin_user"),
    (cloud(ssh_port=0), [{"name": "a.example.com"}], "coldrig_cloud.ssh_port: 0 is not between 1 and 65535"),
    (cloud(api_endpoint="api.example"), [{"name": "a.example.com"}], "coldrig_cloud.api_endpoint: 'api.example' is not"),
    (cloud(defaults={"size": "x"}), [{"name": "a.example.com"}], "coldrig_cloud.defaults.size: unknown key"),
    (cloud(), None, "coldrig_nodes: give a list of nodes"),
    (cloud(), [], "coldrig_nodes: give a list of nodes"),
    (cloud(), ["mx1"], "coldrig_nodes[0]: must be a mapping, not str"),
    (cloud(), [{"name": "a.example.com"}, {"name": "mx1"}], "coldrig_nodes[1].name: 'mx1' is not a fully qualified"),
    (cloud(), [{"name": "a.example.com", "typ": "cx22"}], "coldrig_nodes[0].typ: unknown key"),
    (cloud(defaults={}), [{"name": "a.example.com", "location": "fsn1"}],
     "coldrig_nodes[0].type: required (or coldrig_cloud.defaults.type), e.g. cx22"),
    (cloud(), [{"name": "a.example.com"}, {"name": "A.example.com"}],
     "coldrig_nodes[1].name: a.example.com is already the name of coldrig_nodes[0]"),
    (cloud(), [{"name": "mx.example.com", "count": 2}], "coldrig_nodes[0].name: 'mx.example.com' has no {n}"),
    (cloud(), [{"name": "mx{n}.example.com", "count": 0}], "coldrig_nodes[0].count: 0 is not between 1 and 100"),
    (cloud(), [{"name": "mx{x}.example.com", "count": 2}], "coldrig_nodes[0].name: 'mx{x}.example.com' has no {n}"),
    (cloud(), [{"name": "mx{n:q}.example.com", "count": 2}], "coldrig_nodes[0].name: 'mx{n:q}.example.com' is not a"),
    (cloud(), [{"name": "a.example.com", "role": "mta", "labels": {"coldrig_role": "relay"}}],
     "coldrig_nodes[0].role: 'mta' contradicts labels.coldrig_role: 'relay'"),
    (cloud(), [{"name": "a.example.com", "labels": {"coldrig_fleet": "eu 1"}}],
     "coldrig_nodes[0].labels.coldrig_fleet: 'eu 1' is not a Hetzner label value"),
    (cloud(provider="digitalocean"), [{"name": "a.example.com", "fleet": "eu.1"}],
     "coldrig_nodes[0].labels.coldrig_fleet: 'eu.1' cannot be part of a DigitalOcean tag"),
    (cloud(), [{"name": "a.example.com", "labels": ["coldrig_role"]}], "coldrig_nodes[0].labels: must be a mapping"),
])
def test_every_error_names_the_key_and_the_reason(spec, nodes, message):
    assert fails(spec, nodes).startswith(message)
