import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.coldrig.infra.plugins.filter.records_by_zone import records_by_zone


def test_records_are_grouped_per_zone_in_first_seen_order_without_the_zone_key():
    records = [
        {"zone": "lab.test", "type": "A", "name": "node1.lab.test", "content": "192.0.2.1"},
        {"zone": "send.test", "type": "MX", "name": "send.test", "content": "node1.lab.test", "priority": 10},
        {"zone": "Lab.Test.", "type": "AAAA", "name": "node1.lab.test", "content": "2001:db8::1"},
    ]
    groups = records_by_zone(records)
    assert [g["zone"] for g in groups] == ["lab.test", "send.test"]
    assert [r["type"] for r in groups[0]["records"]] == ["A", "AAAA"]
    assert all("zone" not in r for g in groups for r in g["records"])


def test_a_record_without_zone_is_an_error_naming_its_position():
    with pytest.raises(AnsibleFilterError, match="item 1 has no zone"):
        records_by_zone([{"zone": "a.test"}, {"type": "A"}])


def test_domain_keys_win_over_defaults_and_other_steps_keys_are_left_out():
    from ansible_collections.coldrig.infra.plugins.filter.mail_record_options import mail_record_options

    options = mail_record_options(
        {"name": "send.test", "dmarc_policy": "reject", "mailboxes": 50, "daily_limit": 30, "dmarc_rua": []},
        {"mail_host": "node1.lab.test", "ipv4": "192.0.2.1", "ipv6": "", "dmarc_policy": "none", "ttl": "300"},
    )
    assert options == {"mail_host": "node1.lab.test", "ipv4": "192.0.2.1", "dmarc_policy": "reject", "ttl": 300}


def test_identical_records_of_domains_sharing_a_mail_host_are_kept_once():
    a_record = {"zone": "lab.test", "type": "A", "name": "node1.lab.test", "content": "192.0.2.1", "purge": True}
    groups = records_by_zone([a_record, dict(a_record), {"zone": "lab.test", "type": "A", "name": "x.lab.test",
                                                         "content": "192.0.2.2"}])
    assert len(groups[0]["records"]) == 2
