"""The one validator for names, hosts, ports, quotas, local parts and secrets."""

import pytest

from ansible_collections.coldrig.infra.plugins.module_utils import validate as v


@pytest.mark.parametrize("value", ["example.com", "mail.example.com.", "XN--BCHER-KVA.example", "a-b.co"])
def test_domain_accepts_ldh_names(value):
    assert v.domain_problem(value) is None
    assert v.check_domain(value, "name") == value.lower().rstrip(".")


@pytest.mark.parametrize("value,reason", [
    ("", "is empty"), ("localhost", "has no dot"), ("a..b.com", "empty label"), ("-a.com", "label '-a'"),
    ("a_b.com", "label 'a_b'"), ("127.0.0.1", "IP address"), ("example.123", "all-digit"),
    ("a" * 64 + ".com", "at most 63"), (("a" * 60 + ".") * 5 + "com", "at most 253"), (None, "is empty"),
])
def test_domain_refuses_with_the_reason(value, reason):
    assert reason in v.domain_problem(value)


def test_error_names_the_field_and_the_value():
    with pytest.raises(v.ValidationError) as caught:
        v.check_domain("bad_domain.com", "coldrig_domains[0].name")
    assert str(caught.value).startswith("coldrig_domains[0].name: 'bad_domain.com' has the label")


def test_dns_owner_names_allow_underscores_and_a_leading_wildcard():
    assert v.dns_name_problem("_dmarc.example.com") is None
    assert v.dns_name_problem("*.example.com") is None
    assert v.dns_name_problem("a.*.example.com") is not None
    assert v.hostname_problem("_dmarc.example.com") is not None


@pytest.mark.parametrize("value", ["s1", "mail2026", "s1.sub", "a-b"])
def test_dkim_selector_accepts(value):
    assert v.dkim_selector_problem(value) is None


@pytest.mark.parametrize("value", ["", "S1", "s 1", "s_1", "s1/../x", "-s", "s1."[:-1] + "..x"])
def test_dkim_selector_refuses(value):
    assert v.dkim_selector_problem(value)


@pytest.mark.parametrize("value,ok", [(1, True), (65535, True), ("587", True), (0, False), (65536, False),
                                      (True, False), ("x", False), (None, False)])
def test_port(value, ok):
    assert (v.port_problem(value) is None) is ok


@pytest.mark.parametrize("value,size", [("1G", 1024 ** 3), ("512M", 512 * 1024 ** 2), ("1g", 1024 ** 3),
                                        ("100", 100), (2048, 2048), ("3K", 3072), ("10B", 10)])
def test_quota_bytes(value, size):
    assert v.quota_problem(value) is None
    assert v.quota_bytes(value) == size


@pytest.mark.parametrize("value", ["1 GB", "1.5G", "-1G", "G", "", None, True, "1P"])
def test_quota_refuses(value):
    assert v.quota_problem(value)


def test_local_part_and_display_name():
    assert v.local_part_problem("emma.walker") is None
    assert "two dots" in v.local_part_problem("emma..walker")
    assert "'E'" in v.local_part_problem("Emma")
    assert v.display_name_problem("Emma Walker") is None
    assert "':'" in v.display_name_problem("Emma: Walker")
    assert "control character" in v.display_name_problem("Emma\nWalker")


def test_unix_user_refuses_root_unless_allowed():
    assert "uid 0" in v.unix_user_problem("root")
    assert v.unix_user_problem("root", allow_root=True) is None
    assert v.unix_user_problem("vmail") is None


def test_base64_secret_error_never_quotes_the_value():
    assert v.base64_problem("c2VjcmV0") is None
    with pytest.raises(v.ValidationError) as caught:
        v.check_secret_base64("not base64 %%% s3cr3t", "coldrig_dns.tsig_key_secret")
    assert "s3cr3t" not in str(caught.value)
    assert str(caught.value) == "coldrig_dns.tsig_key_secret: the value is not valid base64"


@pytest.mark.parametrize("value", ["Mail.Example.com", "mail.example.com.", " mail.example.com"])
def test_a_name_not_in_canonical_form_is_named(value):
    assert v.fqdn_problem(value) is None
    assert "'mail.example.com'" in v.canonical_name_problem(value)


def test_a_canonical_name_has_no_canonical_problem():
    assert v.canonical_name_problem("mail.example.com") is None


def test_dqs_key_is_26_letters_and_digits_and_the_error_never_quotes_it():
    assert v.check_dqs_key(" abcdefghijklmnopqrstuvwxyz ", "spamhaus_dqs_key") == "abcdefghijklmnopqrstuvwxyz"
    assert v.dqs_key_problem("a" * 25) and v.dqs_key_problem("a" * 25 + ".") and v.dqs_key_problem("")
    with pytest.raises(v.ValidationError) as caught:
        v.check_dqs_key("s3cr3t-but-malformed", "spamhaus_dqs_key")
    assert "s3cr3t" not in str(caught.value)
    assert str(caught.value).startswith("spamhaus_dqs_key: the value is not a Spamhaus DQS key")


def test_fully_qualified_dns_names_need_a_dot_and_a_top_level_label_without_underscore():
    assert v.dns_name_problem("_spf.example.com", min_labels=2) is None
    assert "has no dot" in v.dns_name_problem("_spf", min_labels=2)
    assert "cannot be a top-level domain" in v.dns_name_problem("example._tcp", min_labels=2)
    assert v.dns_name_problem("s1._domainkey") is None  # a relative owner name stays valid
    assert v.check_dns_name("_Spf.Example.COM.", "include", min_labels=2) == "_spf.example.com"


@pytest.mark.parametrize("value", ["20230601", "s1.2024"])
def test_all_digit_dkim_selector_is_accepted(value):
    # Gmail signs with selectors such as 20230601: a selector is no top-level domain.
    assert v.dkim_selector_problem(value) is None


def test_cloudflare_account_id_is_32_hex_characters():
    assert v.cloudflare_account_id_problem("0123456789ABCDEF0123456789abcdef") is None
    for value in ("", None, "0123456789abcdef", "g" * 32, 32):
        assert "32 hexadecimal characters" in v.cloudflare_account_id_problem(value)
