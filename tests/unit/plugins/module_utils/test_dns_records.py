import pytest

from ansible_collections.coldrig.infra.plugins.module_utils.dns_records import (
    Record,
    RecordError,
    absolute_name,
    desired_records,
    diff_text,
    parse_character_strings,
    plan_changes,
    rrsets_after,
    txt_chunks,
    txt_presentation,
    txt_value,
)

ZONE = "example.test"
DKIM = "v=DKIM1; k=rsa; p=" + "A" * 392  # longer than one 255-byte string


def rec(name, rtype, content, ttl=3600, priority=None, record_id=None, proxied=None):
    return Record(name, rtype, content, ttl, priority, record_id, proxied)


@pytest.mark.parametrize("given,expected", [
    ("@", "example.test"), ("", "example.test"), (None, "example.test"), ("mail", "mail.example.test"),
    ("Mail.Example.Test", "mail.example.test"), ("mail.example.test.", "mail.example.test"),
    ("s1._domainkey", "s1._domainkey.example.test"), ("_dmarc", "_dmarc.example.test"),
])
def test_names_relative_absolute_and_apex_become_one_fqdn(given, expected):
    assert absolute_name(given, ZONE) == expected


def test_absolute_name_outside_the_zone_is_refused_naming_the_field():
    with pytest.raises(RecordError, match=r"records\[0\].name: 'mail.other.test.' is not inside the zone"):
        absolute_name("mail.other.test.", ZONE, field="records[0].name")


def test_txt_quoted_split_and_plain_forms_compare_equal():
    split = txt_presentation(DKIM)
    assert split.count('" "') == 1  # two character-strings
    assert txt_value(split) == DKIM
    assert txt_value(DKIM) == DKIM
    assert txt_value('"v=spf1 " "ip4:192.0.2.1 ~all"') == "v=spf1 ip4:192.0.2.1 ~all"


def test_txt_chunks_are_at_most_255_bytes():
    assert [len(c) for c in txt_chunks("x" * 600)] == [255, 255, 90]


def test_character_strings_unescape_quotes_and_decimal_escapes():
    assert parse_character_strings(r'"a\"b" "c\\d" "e\059f"') == ['a"b', "c\\d", "e;f"]


def test_txt_longer_than_255_is_not_rewritten_on_rerun():
    desired = desired_records([{"type": "TXT", "name": "s1._domainkey", "content": DKIM}], ZONE)
    # what a provider that keeps the split form returns
    current = [rec("s1._domainkey.example.test", "TXT", txt_value(txt_presentation(DKIM)))]
    assert not plan_changes(desired, current).changed


def test_new_spf_replaces_old_spf_but_keeps_other_txt_values():
    desired = desired_records([{"type": "TXT", "content": "v=spf1 ip4:192.0.2.9 ~all"}], ZONE)
    old_spf = rec(ZONE, "TXT", "v=spf1 ip4:192.0.2.1 ~all", record_id="a")
    verification = rec(ZONE, "TXT", "google-site-verification=abc", record_id="b")
    plan = plan_changes(desired, [old_spf, verification])
    assert [(old.id, new.content) for old, new in plan.update] == [("a", "v=spf1 ip4:192.0.2.9 ~all")]
    assert not plan.add and not plan.delete


def test_without_purge_other_values_at_a_pair_stay():
    desired = desired_records([{"type": "MX", "content": "mx1.example.test", "priority": 10}], ZONE)
    other = rec(ZONE, "MX", "backup.example.test", priority=20)
    plan = plan_changes(desired, [other])
    assert [r.content for r in plan.add] == ["mx1.example.test"] and not plan.delete and not plan.update


def test_purge_turns_a_stray_value_into_an_update_and_removes_the_rest():
    desired = desired_records([{"type": "MX", "content": "mx1.example.test", "priority": 10}], ZONE)
    current = [rec(ZONE, "MX", "old1.example.test", priority=10, record_id="1"),
               rec(ZONE, "MX", "old2.example.test", priority=20, record_id="2")]
    plan = plan_changes(desired, current, purge=True)
    assert [(o.id, n.content) for o, n in plan.update] == [("1", "mx1.example.test")]
    assert [r.id for r in plan.delete] == ["2"]


def test_purge_never_touches_a_pair_that_is_not_managed():
    desired = desired_records([{"type": "A", "name": "mail", "content": "192.0.2.1"}], ZONE)
    unrelated = rec("www.example.test", "A", "192.0.2.50")
    plan = plan_changes(desired, [unrelated], purge=True)
    assert [r.name for r in plan.add] == ["mail.example.test"]
    assert not plan.update and not plan.delete


def test_ttl_change_is_an_update_of_the_same_record():
    desired = desired_records([{"type": "A", "name": "mail", "content": "192.0.2.1", "ttl": 300}], ZONE)
    plan = plan_changes(desired, [rec("mail.example.test", "A", "192.0.2.1", ttl=3600, record_id="x")])
    assert [(o.ttl, n.ttl, n.id) for o, n in plan.update] == [(3600, 300, "x")]


def test_a_proxied_mail_record_is_changed_to_unproxied():
    desired = desired_records([{"type": "A", "name": "mail", "content": "192.0.2.1"}], ZONE)
    plan = plan_changes(desired, [rec("mail.example.test", "A", "192.0.2.1", proxied=True, record_id="p")])
    assert [o.id for o, _n in plan.update] == ["p"]


def test_absent_with_content_removes_that_value_and_without_content_all_values():
    current = [rec(ZONE, "TXT", "a"), rec(ZONE, "TXT", "b")]
    one = desired_records([{"type": "TXT", "content": "a"}], ZONE, state="absent")
    assert [r.content for r in plan_changes(one, current, state="absent").delete] == ["a"]
    every = desired_records([{"type": "TXT"}], ZONE, state="absent")
    assert len(plan_changes(every, current, state="absent").delete) == 2


@pytest.mark.parametrize("spec,message", [
    ({"type": "A", "name": "mail", "content": "300.1.1.1"}, r"records\[0\].content: '300.1.1.1' is not an IPv4 address"),
    ({"type": "AAAA", "content": "nope"}, r"records\[0\].content: 'nope' is not an IPv6 address"),
    ({"type": "MX", "content": "mail.example.test"}, r"records\[0\].priority: a MX record needs a priority"),
    ({"type": "WKS", "content": "x"}, r"records\[0\].type: 'WKS' is not one of"),
    ({"type": "A", "content": "192.0.2.1", "ttl": 0}, r"records\[0\].ttl: 0 is out of range"),
    ({"type": "CNAME", "name": "www", "content": "bad host!"}, r"records\[0\].content: 'bad host!' is not a host name"),
])
def test_bad_records_fail_naming_the_field_and_the_reason(spec, message):
    with pytest.raises(RecordError, match=message):
        desired_records([spec], ZONE)


def test_the_same_record_twice_is_refused():
    spec = {"type": "TXT", "content": "x"}
    with pytest.raises(RecordError, match=r"records\[1\]: the same TXT record"):
        desired_records([spec, dict(spec)], ZONE)


def test_cname_beside_other_data_is_refused():
    with pytest.raises(RecordError, match="cannot also have a TXT record"):
        desired_records([{"type": "CNAME", "name": "x", "content": "y.test"},
                         {"type": "TXT", "name": "x", "content": "z"}], ZONE)


def test_rrsets_after_holds_kept_and_new_values():
    desired = desired_records([{"type": "MX", "content": "mx1.example.test", "priority": 10}], ZONE)
    kept = rec(ZONE, "MX", "backup.example.test", priority=20)
    plan = plan_changes(desired, [kept])
    after = rrsets_after([kept], plan)
    assert sorted(r.content for r in after[(ZONE, "MX")]) == ["backup.example.test", "mx1.example.test"]


def test_diff_text_is_zone_file_like_and_sorted():
    text = diff_text([rec(ZONE, "MX", "mx1.example.test", priority=10), rec(ZONE, "TXT", "v=spf1 -all")], ZONE)
    assert text == '@ 3600 IN MX 10 mx1.example.test.\n@ 3600 IN TXT "v=spf1 -all"\n'


def test_a_records_own_purge_replaces_the_old_address_while_txt_values_stay():
    desired = desired_records([
        {"type": "A", "name": "mail", "content": "192.0.2.2", "purge": True},
        {"type": "TXT", "content": "v=spf1 ip4:192.0.2.2 ~all"},
    ], ZONE)
    current = [rec("mail.example.test", "A", "192.0.2.1", record_id="old-a"),
               rec(ZONE, "TXT", "google-site-verification=abc", record_id="keep")]
    plan = plan_changes(desired, current)
    assert [(o.id, n.content) for o, n in plan.update] == [("old-a", "192.0.2.2")]
    assert [r.content for r in plan.add] == ["v=spf1 ip4:192.0.2.2 ~all"]
    assert not plan.delete
