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


# --- domains that share a mail host with different TTLs (issue 10, item 7) ----------------------

def _shared_host_records(ttls, mail_host="mail.a.test", **extra):
    from ansible_collections.coldrig.infra.plugins.module_utils.mail_records import build_mail_records

    records = []
    for domain, ttl in ttls:
        records += build_mail_records(domain, mail_host, ipv4="192.0.2.7", ttl=ttl, **extra)
    return records


def _desired(groups):
    from ansible_collections.coldrig.infra.plugins.module_utils.dns_records import desired_records

    return dict((g["zone"], desired_records(g["records"], g["zone"])) for g in groups)


def test_domains_sharing_a_mail_host_with_different_ttls_get_one_a_record_with_the_host_zones_ttl():
    groups = records_by_zone(_shared_host_records([("b.test", 300), ("a.test", 3600), ("c.test", 600)]))
    desired = _desired(groups)  # before the fix: "records[..]: the same A record ... is also records[0]"
    a_records = [r for r in desired["a.test"] if r.type == "A" and r.name == "mail.a.test"]
    assert [(r.content, r.ttl) for r in a_records] == [("192.0.2.7", 3600)]  # a.test is the host zone
    assert all(r.ttl == 300 for r in desired["b.test"])


def test_a_mail_host_in_a_zone_that_sends_no_mail_takes_the_default_ttl():
    records = _shared_host_records([("b.test", 300), ("c.test", 600)], mail_host="mail.infra.test",
                                   mail_host_zone="infra.test")
    groups = records_by_zone(records, default_ttl=3600)
    infra = [g for g in groups if g["zone"] == "infra.test"][0]["records"]
    assert [(r["type"], r["ttl"]) for r in infra] == [("A", 3600)]
    _desired(groups)


def test_a_mail_host_in_a_zone_that_sends_no_mail_without_a_default_takes_the_lowest_ttl():
    records = _shared_host_records([("b.test", 600), ("c.test", 300)], mail_host="mail.infra.test",
                                   mail_host_zone="infra.test")
    infra = [g for g in records_by_zone(records) if g["zone"] == "infra.test"][0]["records"]
    assert [r["ttl"] for r in infra] == [300]


def test_records_that_differ_in_more_than_the_ttl_are_all_kept():
    records = [{"zone": "a.test", "type": "A", "name": "x.a.test", "content": "192.0.2.1", "ttl": 300},
               {"zone": "a.test", "type": "A", "name": "x.a.test", "content": "192.0.2.2", "ttl": 600}]
    assert len(records_by_zone(records)[0]["records"]) == 2


def test_a_mail_host_at_the_apex_of_a_sending_domain_takes_that_domains_ttl():
    groups = records_by_zone(_shared_host_records([("b.test", 300), ("a.test", 3600)], mail_host="a.test",
                                                  mail_host_zone="a.test"))
    a_records = [r for r in _desired(groups)["a.test"] if r.type == "A"]
    assert [r.ttl for r in a_records] == [3600]
