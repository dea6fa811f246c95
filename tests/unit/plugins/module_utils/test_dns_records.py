import pytest

from ansible_collections.coldrig.infra.plugins.module_utils.dns_providers import cloudflare_batches
from ansible_collections.coldrig.infra.plugins.module_utils.dns_records import (
    ConflictError,
    Record,
    RecordError,
    absolute_name,
    normalise_content,
    normalise_zone,
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


# --- everything is checked before the first request (issue 10, item 6) --------------------------


def _refused(spec, message, provider=None):
    with pytest.raises(RecordError, match=message):
        desired_records([spec], ZONE, provider=provider)


@pytest.mark.parametrize("content,message", [
    ("junk", r"records\[0\].content: 'junk' is not 'weight port target'"),
    ("5 99999 sip.example.test", r"records\[0\].content: the port '99999' .* is not a number from 0 to 65535"),
    ("x 5060 sip.example.test", r"records\[0\].content: the weight 'x' .* is not a number"),
    ("5 5060 192.0.2.1", r"records\[0\].content: '192.0.2.1' is an IP address, but a SRV record points at a host name"),
])
def test_srv_content_that_is_not_weight_port_target_is_refused(content, message):
    _refused({"type": "SRV", "name": "_sip._tcp", "content": content, "priority": 10}, message)


def test_srv_name_without_service_and_protocol_labels_is_refused():
    _refused({"type": "SRV", "name": "sip", "content": "5 5060 sip.example.test", "priority": 10},
             r"records\[0\].name: 'sip' is not _service._protocol.name")


def test_srv_in_zone_file_form_takes_its_priority_from_the_content():
    record = desired_records([{"type": "SRV", "name": "_sip._tcp", "content": "10 5 5060 SIP.example.test."}], ZONE)[0]
    assert (record.priority, record.content) == (10, "5 5060 sip.example.test")
    _refused({"type": "SRV", "name": "_sip._tcp", "content": "10 5 5060 sip.example.test", "priority": 20},
             r"records\[0\].priority: 20 differs from the priority 10")


@pytest.mark.parametrize("rtype", ["MX", "CNAME", "NS"])
def test_host_targets_that_are_ip_addresses_are_refused(rtype):
    _refused({"type": rtype, "name": "www", "content": "192.0.2.1", "priority": 10},
             r"records\[0\].content: '192.0.2.1' is an IP address, but a %s record points at a host name" % rtype)


def test_host_targets_without_a_dot_are_refused():
    _refused({"type": "MX", "content": "mail", "priority": 10}, r"records\[0\].content: 'mail' is not a host name: it has no dot")


def test_cname_target_may_be_an_underscore_owner_name():
    record = desired_records([{"type": "CNAME", "name": "_dmarc", "content": "example.test._dmarc.vendor.test."}], ZONE)[0]
    assert record.content == "example.test._dmarc.vendor.test"


@pytest.mark.parametrize("content", ["", '""', "   "])
def test_empty_txt_value_is_refused(content):
    _refused({"type": "TXT", "name": "x", "content": content}, r"records\[0\].content: the TXT value is empty")


def test_txt_value_with_a_line_break_is_refused():
    _refused({"type": "TXT", "content": "a\nb"}, r"records\[0\].content: the TXT value 'a\\nb' holds a control character")


@pytest.mark.parametrize("content,message", [
    ("0 issue", r"is not 'flags tag value'"),
    ('256 issue "ca.test"', r"the flags '256' .* are not a number from 0 to 255"),
    ('0 policy "x"', r"the tag 'policy' .* is not one of issue, issuewild, iodef"),
    ('0 issue "ca.test', r"has no closing quote"),
    ("0 iodef ca admin", r"holds blanks: put it in double quotes"),
    ('0 iodef "ftp://ca.test"', r"is not a mailto:, http:// or https:// URL"),
    ('0 issue "192.0.2.1"', r"the issuer '192.0.2.1' .* is not a CA's domain name"),
])
def test_caa_syntax_is_checked(content, message):
    _refused({"type": "CAA", "content": content}, r"records\[0\].content: .*" + message)


@pytest.mark.parametrize("content,canonical", [
    ("0 issue letsencrypt.org", '0 issue "letsencrypt.org"'),
    ('128 ISSUEWILD ";"', '128 issuewild ";"'),
    ('0 issue "ca.test; accounturi=https://ca.test/acct/1"', '0 issue "ca.test; accounturi=https://ca.test/acct/1"'),
    ('0 iodef "mailto:security@example.test"', '0 iodef "mailto:security@example.test"'),
])
def test_caa_content_is_canonical_with_a_quoted_value(content, canonical):
    assert desired_records([{"type": "CAA", "content": content}], ZONE)[0].content == canonical


@pytest.mark.parametrize("ttl", [30, 59, 86401, 2])
def test_cloudflare_ttl_outside_60_to_86400_is_refused_naming_the_range(ttl):
    _refused({"type": "A", "name": "mail", "content": "192.0.2.1", "ttl": ttl},
             r"records\[0\].ttl: %d is out of range for cloudflare: give 1 \(automatic\) or 60 to 86400 seconds" % ttl,
             provider="cloudflare")


@pytest.mark.parametrize("ttl", [1, 60, 86400])
def test_cloudflare_ttl_1_is_automatic_and_60_to_86400_are_accepted(ttl):
    spec = {"type": "A", "name": "mail", "content": "192.0.2.1", "ttl": ttl}
    assert desired_records([spec], ZONE, provider="cloudflare")[0].ttl == ttl


def test_rfc2136_ttl_range_is_1_to_2147483647():
    spec = {"type": "A", "name": "mail", "content": "192.0.2.1", "ttl": 30}
    assert desired_records([spec], ZONE, provider="rfc2136")[0].ttl == 30
    _refused(dict(spec, ttl=2147483648), r"records\[0\].ttl: 2147483648 is out of range for rfc2136: give 1 to 2147483647",
             provider="rfc2136")


def test_cloudflare_ttl_is_refused_before_any_request():
    from ansible_collections.coldrig.infra.plugins.module_utils.dns_sync import SyncFailure, sync_zone

    params = dict(provider="cloudflare", zone=ZONE, state="present", purge=False, api_token="unused",
                  api_base_url="http://127.0.0.1:9", timeout=1.0, max_retries=0,
                  records=[{"type": "A", "name": "mail", "content": "192.0.2.1", "ttl": 30}])
    with pytest.raises(SyncFailure, match=r"records\[0\].ttl: 30 is out of range for cloudflare") as caught:
        sync_zone(params)
    assert not caught.value.result.get("requests")


@pytest.mark.parametrize("name,suffix", [("mail.other.test", "other.test"), ("mail.example.com", "example.com"),
                                         ("x.in-addr.arpa", "in-addr.arpa")])
def test_relative_name_ending_like_another_zone_is_refused(name, suffix):
    _refused({"type": "A", "name": name, "content": "192.0.2.1"},
             r"records\[0\].name: %r is relative, so it would become %s.example.test, but it ends like a name in "
             r"another zone \(%s\)" % (name, name, suffix))


@pytest.mark.parametrize("name", ["mail.eu", "s1._domainkey", "a.b.c", "mail.other.test.example.test"])
def test_relative_names_that_do_not_look_like_another_zone_stay_relative(name):
    record = desired_records([{"type": "TXT", "name": name, "content": "x"}], ZONE)[0]
    assert record.name == name if name.endswith(ZONE) else record.name == name + "." + ZONE


MULTIBYTE = "v=verify; " + "é" * 300 + "€" * 100  # 2- and 3-byte characters across several 255-byte strings


def test_multibyte_txt_is_split_at_character_boundaries():
    chunks = txt_chunks(MULTIBYTE)
    assert all(len(chunk) <= 255 for chunk in chunks)
    assert [chunk.decode("utf-8") for chunk in chunks]  # no chunk cuts a UTF-8 sequence
    assert b"".join(chunks) == MULTIBYTE.encode("utf-8")
    assert txt_value(txt_presentation(MULTIBYTE)) == MULTIBYTE


def test_multibyte_txt_presentation_is_read_by_dnspython_as_the_same_bytes():
    rdata = pytest.importorskip("dns.rdata")
    parsed = rdata.from_text("IN", "TXT", txt_presentation(MULTIBYTE))
    assert b"".join(parsed.strings) == MULTIBYTE.encode("utf-8")
    assert all(len(s) <= 255 for s in parsed.strings)


def test_records_of_one_name_and_type_with_different_ttls_are_refused():
    with pytest.raises(RecordError, match=r"records\[1\].ttl: 300 differs from the 3600 of records\[0\]"):
        desired_records([{"type": "A", "name": "mail", "content": "192.0.2.1", "ttl": 3600},
                         {"type": "A", "name": "mail", "content": "192.0.2.2", "ttl": 300}], ZONE)


def test_content_read_from_a_zone_is_not_held_to_the_rules_for_writing():
    # A zone may hold what this module refuses to write; reading it must not fail.
    assert normalise_content("MX", "192.0.2.1.") == "192.0.2.1"
    assert normalise_content("TXT", '""') == ""
    assert normalise_content("CAA", '0 policy "x"') == '0 policy "x"'
    assert normalise_content("SRV", "0 0 .") == "0 0 ."


# --- one validator for names (issue 10, item 13) ------------------------------------------------

NAMES = ["mail.example.test", "Mail.Example.Test.", "xn--bcher-kva.example", "203.0.113.7", "example.123",
         "_dmarc.example.test", "bad-.example.test", "a..example.test", "mail", "a" * 64 + ".example.test",
         "bücher.example"]


@pytest.mark.parametrize("name", NAMES)
def test_host_names_are_judged_alike_by_validate_mail_records_and_dns_records(name):
    from ansible_collections.coldrig.infra.plugins.module_utils import validate
    from ansible_collections.coldrig.infra.plugins.module_utils.mail_records import RecordSpecError, validate_hostname

    expected = validate.fqdn_problem(name) is None
    try:
        validate_hostname(name, "mail_host")
        builder = True
    except RecordSpecError:
        builder = False
    try:
        desired_records([{"type": "MX", "content": name, "priority": 10}], ZONE)
        module = True
    except RecordError:
        module = False
    assert (builder, module) == (expected, expected)


@pytest.mark.parametrize("zone", ["example.123", "203.0.113.7", "a..test", "bad-.test"])
def test_zone_names_that_validate_refuses_are_refused(zone):
    with pytest.raises(RecordError, match=r"^zone: .* is not a valid DNS zone name: it "):
        desired_records([{"type": "A", "name": "mail", "content": "192.0.2.1"}], normalise_zone(zone))


# ---- one value per slot (issue 10, item 2)
def test_second_spf_value_already_in_the_zone_is_removed_in_the_same_write():
    spf = "v=spf1 ip4:192.0.2.9 ~all"
    desired = desired_records([{"type": "TXT", "content": spf}], ZONE)
    current = [rec(ZONE, "TXT", spf, record_id="a"), rec(ZONE, "TXT", "v=spf1 include:old.example ~all", record_id="b"),
               rec(ZONE, "TXT", "google-site-verification=abc", record_id="c")]
    plan = plan_changes(desired, current)
    assert plan.changed and [r.id for r in plan.delete] == ["b"] and [r.id for r in plan.extras] == ["b"]
    assert not plan.add and not plan.update


def test_two_old_dmarc_values_become_one_new_value_and_the_surplus_is_reported():
    desired = desired_records([{"type": "TXT", "name": "_dmarc", "content": "v=DMARC1; p=reject"}], ZONE)
    current = [rec("_dmarc.example.test", "TXT", "v=DMARC1; p=none", record_id="a"),
               rec("_dmarc.example.test", "TXT", "v=DMARC1; p=quarantine", record_id="b")]
    plan = plan_changes(desired, current)
    assert [(o.id, n.content) for o, n in plan.update] == [("a", "v=DMARC1; p=reject")]
    assert [r.id for r in plan.extras] == ["b"] == [r.id for r in plan.delete]
    assert plan.summary(ZONE)["extras"][0]["content"] == "v=DMARC1; p=quarantine"


def test_two_desired_values_in_one_slot_are_refused():
    desired = desired_records([{"type": "TXT", "content": "v=spf1 a ~all"}, {"type": "TXT", "content": "v=spf1 mx ~all"}],
                              ZONE)
    with pytest.raises(RecordError, match=r"records\[1\]: example.test can hold one v=spf1 value"):
        plan_changes(desired, [])


# ---- conflicts with a CNAME (issue 10, item 1)
VENDOR = rec("_dmarc.example.test", "CNAME", "example.test.dmarc.vendor.example", ttl=300, record_id="v")


def test_a_cname_where_dmarc_goes_fails_naming_the_record_the_cname_and_the_fix():
    desired = desired_records([{"type": "TXT", "name": "_dmarc", "content": "v=DMARC1; p=reject"}], ZONE)
    with pytest.raises(ConflictError) as failure:
        plan_changes(desired, [VENDOR], zone=ZONE)
    message = str(failure.value)
    assert "records[0]" in message and "_dmarc.example.test CNAME example.test.dmarc.vendor.example" in message
    assert "on_conflict: replace" in message and "Nothing was changed" in message
    assert failure.value.conflicts == [VENDOR]


def test_on_conflict_replace_deletes_the_cname_in_the_same_plan():
    desired = desired_records([{"type": "TXT", "name": "_dmarc", "content": "v=DMARC1; p=reject"}], ZONE)
    plan = plan_changes(desired, [VENDOR], on_conflict="replace", zone=ZONE)
    assert plan.delete == [VENDOR] and plan.conflicts == [VENDOR]
    assert [r.content for r in plan.add] == ["v=DMARC1; p=reject"]
    after = rrsets_after([VENDOR], plan)
    assert after[VENDOR.pair] == [] and [r.type for r in after[("_dmarc.example.test", "TXT")]] == ["TXT"]


def test_a_desired_cname_where_other_records_are_fails_naming_them():
    desired = desired_records([{"type": "CNAME", "name": "track", "content": "t.vendor.example"}], ZONE)
    current = [rec("track.example.test", "A", "192.0.2.7"), rec("track.example.test", "TXT", "hello")]
    with pytest.raises(ConflictError, match="track.example.test A 192.0.2.7; track.example.test TXT hello"):
        plan_changes(desired, current, zone=ZONE)
    plan = plan_changes(desired, current, on_conflict="replace", zone=ZONE)
    assert plan.delete == current and [r.type for r in plan.add] == ["CNAME"]


def test_a_cname_at_the_zone_apex_is_refused():
    desired = desired_records([{"type": "CNAME", "name": "@", "content": "elsewhere.example"}], ZONE)
    with pytest.raises(RecordError, match="zone apex"):
        plan_changes(desired, [], on_conflict="replace", zone=ZONE)


def test_records_of_other_types_at_a_managed_name_are_not_touched_without_a_conflict():
    desired = desired_records([{"type": "TXT", "content": "v=spf1 a ~all"}], ZONE)
    current = [rec(ZONE, "MX", "mx.example.test", priority=10), rec(ZONE, "NS", "ns1.example.test")]
    plan = plan_changes(desired, current, purge=True, zone=ZONE)
    assert [r.type for r in plan.add] == ["TXT"] and not plan.delete and not plan.update


# ---- Cloudflare batches (issue 10, item 4)
def test_batches_hold_at_most_the_limit_and_send_replacements_before_removals():
    desired = desired_records([{"type": "A", "name": "h%03d" % i, "content": "192.0.2.2", "purge": True}
                               for i in range(250)], ZONE)
    current = [rec("h%03d.example.test" % i, "A", "192.0.2.1", record_id="old%d" % i) for i in range(250)]
    current += [rec("h%03d.example.test" % i, "A", "192.0.2.3", record_id="extra%d" % i) for i in range(150)]
    plan = plan_changes(desired, current)
    assert len(plan.update) == 250 and len(plan.delete) == 150
    batches = cloudflare_batches(plan, 200)
    assert [sum(len(b[k]) for k in b) for b in batches] == [200, 200]
    # every patch is in a batch before (or the same as) the batch that deletes what is left at its name
    order = [(i, kind, op["id"]) for i, b in enumerate(batches) for kind in ("deletes", "patches", "posts") for op in b[kind]]
    first_delete = min(i for i, kind, _id in order if kind == "deletes")
    last_patch = max(i for i, kind, _id in order if kind == "patches")
    assert last_patch <= first_delete


def test_a_conflicting_cname_is_deleted_in_the_same_batch_as_the_record_that_replaces_it():
    desired = desired_records([{"type": "A", "name": "h%03d" % i, "content": "192.0.2.2"} for i in range(5)]
                              + [{"type": "TXT", "name": "_dmarc", "content": "v=DMARC1; p=reject"}], ZONE)
    plan = plan_changes(desired, [VENDOR], on_conflict="replace", zone=ZONE)
    batches = cloudflare_batches(plan, 2)
    assert batches[0] == {"deletes": [{"id": "v"}], "patches": [],
                          "posts": [{"name": "_dmarc.example.test", "type": "TXT", "ttl": 3600,
                                     "content": '"v=DMARC1; p=reject"'}]}
    assert sum(len(b["posts"]) for b in batches) == 6 and all(sum(map(len, b.values())) <= 2 for b in batches)
