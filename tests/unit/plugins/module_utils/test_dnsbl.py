"""Return codes read per list, each case from that list's documentation (sources in module_utils/dnsbl.py)."""

import pytest

from ansible_collections.coldrig.infra.plugins.module_utils import dnsbl as d
from ansible_collections.coldrig.infra.plugins.module_utils import validate

CANNOT = d.CANNOT_CHECK
LISTS = dict((item["name"], item) for item in d.select_lists())


def verdict(name, *answers):
    status, _codes, meanings, reason = d.interpret(LISTS[name], list(answers))
    return status, " | ".join(meanings), reason


def test_the_default_is_at_least_15_lists_of_both_kinds_each_with_its_source():
    assert len(LISTS) >= 15
    kinds = [item["kind"] for item in LISTS.values()]
    assert kinds.count("ip") >= 9 and kinds.count("domain") >= 5
    for item in LISTS.values():
        assert item["source"].startswith("http"), item["name"]
        assert item["codes"] or item["bits"], item["name"]


@pytest.mark.parametrize("name", sorted(LISTS))
def test_no_answer_is_clean_on_every_list(name):
    assert d.interpret(LISTS[name], []) == ("clean", [], [], None)


@pytest.mark.parametrize("name", sorted(LISTS))
def test_an_answer_outside_the_documented_codes_is_an_error_not_a_listing(name):
    status, _meaning, reason = verdict(name, "127.0.0.250")
    assert status == "error"
    assert reason.startswith("unexpected answer 127.0.0.250: not among the codes documented for %s" % LISTS[name]["zone"])


# ---------------------------------------------------------------- Spamhaus ZEN and DBL
@pytest.mark.parametrize("code,meaning", [
    ("127.0.0.2", "SBL"), ("127.0.0.3", "CSS"), ("127.0.0.4", "XBL"), ("127.0.0.9", "DROP"),
    ("127.0.0.10", "PBL: range the ISP"), ("127.0.0.11", "PBL: range Spamhaus"), ("127.0.0.30", "BCL"),
])
def test_spamhaus_zen_codes_are_listings(code, meaning):
    status, meanings, reason = verdict("spamhaus-zen", code)
    assert status == "listed" and meaning in meanings and reason is None


def test_spamhaus_zen_reports_every_code_of_a_multi_record_answer():
    status, meanings, _reason = verdict("spamhaus-zen", "127.0.0.10", "127.0.0.4", "127.0.0.2")
    assert status == "listed"
    assert meanings.startswith("127.0.0.2 SBL") and "127.0.0.4 XBL" in meanings and "127.0.0.10 PBL" in meanings


@pytest.mark.parametrize("name", ["spamhaus-zen", "spamhaus-dbl"])
@pytest.mark.parametrize("code,why", [
    ("127.255.255.252", "typing error"), ("127.255.255.254", "public or open resolver"),
    ("127.255.255.255", "excessive number of queries"),
])
def test_spamhaus_refusal_codes_are_could_not_check_never_listed(name, code, why):
    status, _meanings, reason = verdict(name, code)
    assert status == "error"
    assert reason.startswith(CANNOT) and why in reason


def test_spamhaus_refusal_wins_over_a_listing_code_in_the_same_answer():
    status, _meanings, reason = verdict("spamhaus-zen", "127.0.0.2", "127.255.255.254")
    assert status == "error" and reason.startswith(CANNOT)


@pytest.mark.parametrize("code,meaning", [
    ("127.0.1.2", "low-reputation"), ("127.0.1.4", "phishing"), ("127.0.1.5", "malware"), ("127.0.1.6", "botnet"),
    ("127.0.1.102", "abused legitimate"), ("127.0.1.103", "redirector"), ("127.0.1.104", "phishing"),
    ("127.0.1.105", "malware"), ("127.0.1.106", "command and control"),
])
def test_spamhaus_dbl_codes_are_listings(code, meaning):
    status, meanings, _reason = verdict("spamhaus-dbl", code)
    assert status == "listed" and meaning in meanings


def test_spamhaus_dbl_ip_query_code_is_an_error_of_the_query():
    status, _meanings, reason = verdict("spamhaus-dbl", "127.0.1.255")
    assert status == "error" and reason == "the list answered an error code: 127.0.1.255 DBL: IP queries are not allowed on a domain list"


def test_a_zen_code_means_nothing_on_the_dbl():
    assert verdict("spamhaus-dbl", "127.0.0.2")[0] == "error"


# ------------------------------------------------------------- single-code IP lists
@pytest.mark.parametrize("name", ["spamcop", "barracuda", "psbl", "uceprotect-1", "nordspam-bl", "sem-black"])
def test_rfc5782_lists_answer_127_0_0_2_for_a_listing(name):
    status, meanings, _reason = verdict(name, "127.0.0.2")
    assert status == "listed" and meanings.startswith("127.0.0.2 ")


@pytest.mark.parametrize("name", ["spamcop", "barracuda", "psbl", "uceprotect-1", "nordspam-bl", "sem-black"])
def test_rfc5782_lists_do_not_take_127_0_0_1_as_a_listing(name):
    assert verdict(name, "127.0.0.1")[0] == "error"


# --------------------------------------------------------------------------- Mailspike
@pytest.mark.parametrize("code,level", [("127.0.0.2", "Z"), ("127.0.0.10", "L5"), ("127.0.0.11", "L4"),
                                        ("127.0.0.12", "L3")])
def test_mailspike_bl_lists_the_wave_zone_and_levels_l3_to_l5(code, level):
    status, meanings, _reason = verdict("mailspike-bl", code)
    assert status == "listed" and ("Mailspike %s" % level) in meanings


@pytest.mark.parametrize("code", ["127.0.0.10", "127.0.0.11", "127.0.0.12"])
def test_mailspike_reputation_bad_levels_are_listings(code):
    assert verdict("mailspike-rep", code)[0] == "listed"


@pytest.mark.parametrize("code,level", [("127.0.0.13", "L2"), ("127.0.0.14", "L1"), ("127.0.0.15", "H0"),
                                        ("127.0.0.16", "H1"), ("127.0.0.17", "H2"), ("127.0.0.18", "H3"),
                                        ("127.0.0.19", "H4"), ("127.0.0.20", "H5")])
def test_mailspike_reputation_neutral_and_good_levels_are_clean_with_the_level(code, level):
    status, meanings, reason = verdict("mailspike-rep", code)
    assert status == "clean" and ("Mailspike %s" % level) in meanings and reason is None


def test_mailspike_reputation_has_no_127_0_0_2():
    assert verdict("mailspike-rep", "127.0.0.2")[0] == "error"


# --------------------------------------------------------------------------- blocklist.de
@pytest.mark.parametrize("code,service", [("127.0.0.2", "amavis"), ("127.0.0.9", "mail"), ("127.0.0.13", "sasl"),
                                          ("127.0.0.14", "ssh"), ("127.0.0.22", "mysql")])
def test_blocklist_de_codes_name_the_attacked_service(code, service):
    status, meanings, _reason = verdict("blocklist-de", code)
    assert status == "listed" and meanings.endswith("blocklist.de: %s" % service)


def test_blocklist_de_has_no_code_above_22():
    assert verdict("blocklist-de", "127.0.0.23")[0] == "error"


# --------------------------------------------------------------------------------- SURBL
@pytest.mark.parametrize("code,lists", [
    ("127.0.0.8", "SURBL PH"), ("127.0.0.16", "SURBL MW"), ("127.0.0.64", "SURBL ABUSE"), ("127.0.0.128", "SURBL CR"),
    ("127.0.0.80", "SURBL MW: malware, SURBL ABUSE"),  # the documentation's own example: 16 + 64
])
def test_surbl_bitmask_names_each_list(code, lists):
    status, meanings, _reason = verdict("surbl", code)
    assert status == "listed" and lists in meanings


def test_surbl_127_0_0_1_is_blocked_so_could_not_check():
    status, _meanings, reason = verdict("surbl", "127.0.0.1")
    assert status == "error" and reason.startswith(CANNOT) and "SURBL blocked" in reason


@pytest.mark.parametrize("code", ["127.0.0.2", "127.0.0.4", "127.0.0.32", "127.0.0.0", "10.0.0.8"])
def test_surbl_bits_it_does_not_use_are_unexpected(code):
    assert verdict("surbl", code)[0] == "error"


def test_surbl_ignores_the_reserved_middle_octets():
    assert verdict("surbl", "127.0.1.64")[0] == "listed"


# --------------------------------------------------------------------------------- URIBL
@pytest.mark.parametrize("code,lists", [("127.0.0.2", "URIBL black"), ("127.0.0.4", "URIBL grey"),
                                        ("127.0.0.8", "URIBL red"), ("127.0.0.14", "URIBL black, URIBL grey, URIBL red")])
def test_uribl_bitmask_names_each_list(code, lists):
    status, meanings, _reason = verdict("uribl", code)
    assert status == "listed" and meanings.endswith(lists)


def test_uribl_127_0_0_1_is_query_refused_so_could_not_check():
    status, _meanings, reason = verdict("uribl", "127.0.0.1")
    assert status == "error" and reason.startswith(CANNOT) and "URIBL refused" in reason


def test_uribl_refusal_bit_with_a_listing_bit_is_not_a_listing():
    assert verdict("uribl", "127.0.0.3")[0] == "error"  # bit 1 is not a classification bit


# ------------------------------------------------------------------- other domain lists
@pytest.mark.parametrize("name", ["nordspam-dbl", "sem-uri"])
def test_domain_lists_answer_127_0_0_2_for_a_listing(name):
    assert verdict(name, "127.0.0.2")[0] == "listed"
    assert verdict(name, "127.0.0.3")[0] == "error"


# ---------------------------------------------------------------------- queries and lists
def test_ipv4_is_asked_as_reversed_octets_and_ipv6_as_reversed_nibbles():
    zen = LISTS["spamhaus-zen"]
    assert d.query_name("192.0.2.10", zen) == "10.2.0.192.zen.spamhaus.org."
    # Spamhaus's own IPv6 example (DQS Requests page)
    assert d.query_name("2001:db8:7ca6:22::45", zen) == (
        "5.4.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.2.0.0.6.a.c.7.8.b.d.0.1.0.0.2.zen.spamhaus.org.")


def test_a_dqs_key_turns_spamhaus_zones_into_their_dqs_form_only():
    key = "abcdefghijklmnopqrstuvwxyz"
    assert d.query_name("203.0.113.79", LISTS["spamhaus-zen"], key) == "79.113.0.203.%s.zen.dq.spamhaus.net." % key
    assert d.query_name("example.com", LISTS["spamhaus-dbl"], key) == "example.com.%s.dbl.dq.spamhaus.net." % key
    assert d.query_name("203.0.113.79", LISTS["spamcop"], key) == "79.113.0.203.bl.spamcop.net."


def test_a_list_with_a_default_name_replaces_it_in_place_and_others_are_added():
    chosen = d.select_lists([dict(name="spamcop", zone="bl.spamcop.example", kind="ip",
                                  codes=[dict(code="127.0.0.3", status="listed", meaning="x")]),
                             dict(zone="bl.example.net", kind="ip", codes=[dict(code="127.0.0.2")])])
    names = [x["name"] for x in chosen]
    assert names.index("spamcop") == 1 and chosen[1]["zone"] == "bl.spamcop.example"
    assert names[-1] == "bl.example.net" and len(chosen) == len(LISTS) + 1


def test_default_lists_can_be_left_out_by_name_or_zone():
    chosen = d.select_lists(exclude=["uribl", "zen.spamhaus.org"])
    assert "uribl" not in [x["name"] for x in chosen] and "spamhaus-zen" not in [x["name"] for x in chosen]
    with pytest.raises(d.ListError, match="exclude_lists: nosuch is not among the lists to check"):
        d.select_lists(exclude=["nosuch"])


@pytest.mark.parametrize("entry,message", [
    (dict(zone="bl.example.net", kind="ip"), "lists[0]: give the list's return codes"),
    (dict(zone="bl.example.net", kind="asn", codes=[dict(code="127.0.0.2")]), "lists[0].kind: 'asn' is not one of ip, domain"),
    (dict(zone="bl.example.net", kind="ip", codes=[dict(code="127.0.0")]), "lists[0].codes[0].code: '127.0.0' is not an IPv4"),
    (dict(zone="bl.example.net", kind="ip", codes=[dict(code="127.0.0.2", status="maybe")]), "status: 'maybe' is not one of"),
    (dict(zone="bl.example.net", kind="domain", bits=[dict(bit=6)]), "lists[0].bits[0].bit: 6 is not a single bit"),
    (dict(zone="bl.example.net", kind="ip", dqs=True, codes=[dict(code="127.0.0.2")]), "is not a Spamhaus zone"),
    (dict(zone="bl..example.net", kind="ip", codes=[dict(code="127.0.0.2")]), "lists[0].zone: 'bl..example.net'"),
])
def test_a_bad_list_definition_names_the_field_the_value_and_the_fix(entry, message):
    with pytest.raises(d.ListError) as caught:
        d.select_lists([entry], use_defaults=False)
    assert message in str(caught.value)


def test_every_default_code_is_an_address_in_127_8():
    for item in LISTS.values():
        for code in item["codes"]:
            assert validate.ipv4_problem(code) is None and code.startswith("127."), (item["name"], code)


def test_the_table_puts_listed_and_errors_first():
    rows = [dict(target="192.0.2.1", list="a", status="clean", codes=[], meaning=[], txt=[], error=None),
            dict(target="192.0.2.1", list="b", status="error", codes=[], meaning=[], txt=[], error="timeout"),
            dict(target="192.0.2.1", list="c", status="listed", codes=["127.0.0.2"], meaning=["x"], txt=["why"],
                 error=None)]
    lines = d.table(rows).splitlines()
    assert lines[0].split()[:3] == ["TARGET", "LIST", "STATUS"]
    assert [line.split()[1] for line in lines[1:]] == ["c", "b", "a"]
    assert lines[1].endswith("why") and lines[2].endswith("timeout")


def test_docs_monitoring_lists_every_default_list_with_its_codes_and_source():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[4] / "docs" / "monitoring.md").read_text()
    for item in d.DEFAULT_LISTS:
        row = next((line for line in text.splitlines() if line.startswith("| `%s` | `%s`" % (item["name"], item["zone"]))),
                   None)
        assert row is not None, item["name"]
        assert item["source"] in row, item["name"]
        for code in item["codes"]:
            assert "`%s`" % code["code"] in row, (item["name"], code["code"])
        for bit in item.get("bits") or []:
            assert "%d %s" % (bit["bit"], bit["meaning"]) in row, (item["name"], bit["bit"])
