"""The coldrig.infra.mail_records and coldrig.infra.mta_sts_policy filters, called directly and through Ansible's templar."""

from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleError, AnsibleFilterError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.coldrig.infra.plugins.filter.mail_records import (
    MAIL_RECORDS_OPTIONS,
    MTA_STS_POLICY_OPTIONS,
    FilterModule,
    mail_records,
    mta_sts_policy,
)
from ansible_collections.coldrig.infra.plugins.module_utils.mail_records import build_mail_records

FILTER_DIR = Path(__file__).resolve().parents[4] / "plugins" / "filter"
OPTIONS = {"mail_host": "mail.example.com", "ipv4": "203.0.113.7", "dmarc_policy": "quarantine",
           "dmarc_rua": ["mailto:dmarc@example.com"], "mta_sts_mode": "testing"}


def options(**changes):
    """OPTIONS with ``changes`` applied."""
    return {**OPTIONS, **changes}


def render(template, variables=None):
    return Templar(loader=DataLoader(), variables=variables or {}).template(trust_as_template(template))


def test_filter_module_provides_both_filters():
    assert FilterModule().filters() == {"mail_records": mail_records, "mta_sts_policy": mta_sts_policy}


def test_mail_records_filter_returns_the_record_list_of_build_mail_records():
    assert mail_records("example.com", **OPTIONS) == build_mail_records("example.com", **OPTIONS)


def test_a_record_spec_error_becomes_an_ansible_filter_error_with_the_same_message():
    with pytest.raises(AnsibleFilterError) as caught:
        mail_records("example.com", **options(dmarc_policy="maybe"))
    assert caught.value.message == "dmarc_policy: 'maybe' is not one of none, quarantine, reject"


def test_an_unknown_option_is_refused_listing_the_known_ones():
    with pytest.raises(AnsibleFilterError, match=r"^mail_records: unknown option dmarc_polcy \(known: mail_host, ipv4, ipv6, "):
        mail_records("example.com", **options(dmarc_polcy="reject"))


def test_a_missing_required_option_is_a_filter_error_naming_it():
    with pytest.raises(AnsibleFilterError, match="^mail_host: is required$"):
        mail_records("example.com", ipv4="203.0.113.7")
    with pytest.raises(AnsibleFilterError, match="^mail_host: is required$"):
        mta_sts_policy("example.com", mta_sts_mode="testing")


def test_mta_sts_policy_filter_takes_the_mail_records_options_and_serves_the_policy_whose_id_the_txt_record_carries():
    policy = mta_sts_policy("example.com", **OPTIONS)
    assert mta_sts_policy("example.com", **options(mta_sts_mode=None)) is None
    records = mail_records("example.com", **OPTIONS)
    assert {"name": "_mta-sts.example.com", "type": "TXT", "content": "v=STSv1; id=" + policy["id"]}.items() <= [
        r for r in records if r["name"] == "_mta-sts.example.com"][0].items()
    assert policy["content"] == "version: STSv1\r\nmode: testing\r\nmx: mail.example.com\r\nmax_age: 604800\r\n"
    with pytest.raises(AnsibleFilterError, match="^mta_sts_mode: 'strict' is not one of none, testing, enforce$"):
        mta_sts_policy("example.com", mail_host="mail.example.com", mta_sts_mode="strict")


def test_the_filters_render_in_a_template_with_keyword_expansion_of_lazy_variables():
    variables = {
        "host": "mail.example.com",
        "opts": {"mail_host": trust_as_template("{{ host }}"), "ipv4": "203.0.113.7", "dmarc_rua": ["mailto:dmarc@example.com"],
                 "mta_sts_mode": "enforce", "ttl": "300"},
    }
    records = render("{{ 'example.com' | coldrig.infra.mail_records(**opts) }}", variables)
    assert [(r["name"], r["type"]) for r in records] == [
        ("mail.example.com", "A"), ("mta-sts.example.com", "A"), ("example.com", "MX"), ("example.com", "TXT"),
        ("_dmarc.example.com", "TXT"), ("_mta-sts.example.com", "TXT")]
    assert {r["ttl"] for r in records} == {300}
    policy_id = render("{{ ('example.com' | coldrig.infra.mta_sts_policy(mail_host=host, mta_sts_mode='enforce')).id }}", variables)
    assert records[-1]["content"] == "v=STSv1; id=" + policy_id


def test_a_bad_field_fails_the_template_naming_the_field():
    with pytest.raises(AnsibleError, match=r"dmarc_policy: 'maybe' is not one of none, quarantine, reject"):
        render("{{ 'example.com' | coldrig.infra.mail_records(mail_host='mail.example.com', ipv4='203.0.113.7', dmarc_policy='maybe') }}")


@pytest.mark.parametrize("name, known", [("mail_records", MAIL_RECORDS_OPTIONS), ("mta_sts_policy", MTA_STS_POLICY_OPTIONS)])
def test_the_documentation_sidecar_documents_exactly_the_filter_options(name, known):
    docs = yaml.safe_load((FILTER_DIR / (name + ".yml")).read_text())
    assert docs["DOCUMENTATION"]["name"] == name
    assert set(docs["DOCUMENTATION"]["options"]) == {"_input"} | set(known)
    assert "_value" in docs["RETURN"] and docs["EXAMPLES"].strip()
