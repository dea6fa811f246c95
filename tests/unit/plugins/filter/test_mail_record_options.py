"""coldrig.infra.mail_record_options: every option of the record builder gets through, from one key list."""

import re
from pathlib import Path

import pytest

from ansible_collections.coldrig.infra.plugins.filter import mail_record_options as filter_plugin
from ansible_collections.coldrig.infra.plugins.filter.mail_record_options import mail_record_options
from ansible_collections.coldrig.infra.plugins.module_utils import onboarding_spec
from ansible_collections.coldrig.infra.plugins.module_utils.mail_records import (
    MAIL_RECORDS_OPTIONS,
    build_mail_records,
    keyword_options,
)

SPEC_DOC = Path(__file__).resolve().parents[4] / "docs" / "onboarding-spec.md"
NODE = {"mail_host": "mail.example.test", "ipv4": "192.0.2.7"}
# A value for every DMARC key of the spec, and the tag it must put in the record.
DMARC_VALUES = {
    "dmarc_policy": ("reject", "p=reject"),
    "dmarc_rua": (["mailto:agg@example.test"], "rua=mailto:agg@example.test"),
    "dmarc_ruf": (["mailto:fail@example.test"], "ruf=mailto:fail@example.test"),
    "dmarc_pct": (50, "pct=50"),
    "dmarc_subdomain_policy": ("quarantine", "sp=quarantine"),
    "dmarc_adkim": ("s", "adkim=s"),
    "dmarc_aspf": ("s", "aspf=s"),
    "dmarc_fo": ("1", "fo=1"),
}


def dmarc_of(domain, defaults=None):
    records = build_mail_records(domain["name"], **mail_record_options(domain, dict(NODE, **(defaults or {}))))
    return next(r["content"] for r in records if r["name"] == "_dmarc." + domain["name"])


def documented_dmarc_keys():
    return sorted(set(re.findall(r"`(dmarc_[a-z_]+)`", SPEC_DOC.read_text())))


def test_dmarc_fo_of_a_domain_reaches_the_record():
    assert "fo=1" in dmarc_of({"name": "example.test", "dmarc_fo": "1"}).split("; ")


def test_dmarc_fo_of_the_defaults_reaches_the_record():
    assert "fo=d:s" in dmarc_of({"name": "example.test"}, {"dmarc_fo": "d:s"}).split("; ")


def test_every_documented_dmarc_key_is_known_to_the_test():
    assert documented_dmarc_keys() == sorted(DMARC_VALUES)


@pytest.mark.parametrize("key", sorted(DMARC_VALUES))
def test_every_documented_dmarc_key_reaches_the_record(key):
    value, tag = DMARC_VALUES[key]
    assert tag in dmarc_of({"name": "example.test", key: value}).split("; ")


def test_the_filter_and_the_spec_checker_take_their_keys_from_the_builder():
    options = set(keyword_options(build_mail_records))
    assert set(filter_plugin.RECORD_KEYS) == options - {"dkim_selector", "dkim_txt"}
    assert set(onboarding_spec.RECORD_KEYS) == options - {"mail_host", "ipv4", "ipv6", "fleet_hosts", "dkim_selector", "dkim_txt"}
    assert MAIL_RECORDS_OPTIONS == keyword_options(build_mail_records)
