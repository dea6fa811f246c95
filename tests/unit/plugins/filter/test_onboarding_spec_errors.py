import re
from pathlib import Path

import pytest

from ansible_collections.coldrig.infra.plugins.filter.onboarding_spec_errors import onboarding_spec_errors
from ansible_collections.coldrig.infra.plugins.module_utils import mailboxes, validate
from ansible_collections.coldrig.infra.plugins.module_utils.dns_sync import ARGUMENT_SPEC
from ansible_collections.coldrig.infra.plugins.module_utils.onboarding_spec import DNS_PROVIDER_KEYS

ROOT = Path(__file__).resolve().parents[4]

DNS = {"provider": "rfc2136", "server": "127.0.0.1", "port": 10053, "tsig_key_name": "k", "tsig_key_file": "/k"}
NODE = {"mail_host": "node1.lab.coldrig.test", "ipv4": "127.0.100.1"}


def check(domains, **extra):
    args = dict(backend="postfix", dns=DNS, **NODE)
    args.update(extra)
    return onboarding_spec_errors(domains, **args)


def test_a_good_spec_has_no_problem():
    assert check([{"name": "send.test", "mailboxes": 50, "daily_limit": 30, "dmarc_policy": "quarantine",
                   "dmarc_rua": ["mailto:dmarc@send.test"], "mta_sts_mode": "testing"}]) == []


def test_every_problem_is_reported_with_the_item_and_the_key():
    problems = check([
        {"name": "ok.test", "dmarc_policy": "maybe"},
        {"name": "Bad_Domain!"},
        {"name": "second.test", "mailboxes": -1, "naming": "random", "daily_limit": "lots", "dmarc_polcy": "none"},
    ])
    assert any(p.startswith("coldrig_domains[0] (ok.test).dmarc_policy: ") and "none, quarantine, reject" in p for p in problems)
    assert any(p.startswith("coldrig_domains[1].name: ") for p in problems)
    assert "coldrig_domains[2] (second.test).mailboxes: -1 is not from 0 to 1000" in problems
    assert any(p.startswith("coldrig_domains[2] (second.test).naming: 'random' is not one of") for p in problems)
    assert "coldrig_domains[2] (second.test).daily_limit: 'lots' is not a whole number of at least 1 (the recipients a mailbox may send to a day)" in problems
    assert any("unknown key(s) dmarc_polcy" in p for p in problems)


def test_an_spf_over_ten_lookups_is_refused_before_anything_changes():
    includes = ["include:_spf%d.relay.test" % i for i in range(11)]
    problems = check([{"name": "send.test", "spf_extra": includes}])
    assert len(problems) == 1 and "spf_extra" in problems[0] and "10" in problems[0]


def test_mailbox_lists_are_checked_item_by_item():
    problems = check([{"name": "send.test", "mailboxes": [{"local_part": "ana.bell"}, {"local_part": "ana.bell"},
                                                          {"local_part": ".bad"}, 7, "x"]}])
    assert "coldrig_domains[0] (send.test).mailboxes[1].local_part: 'ana.bell' is listed twice" in problems
    assert any(p.startswith("coldrig_domains[0] (send.test).mailboxes[2].local_part: '.bad'") for p in problems)
    assert any(p.startswith("coldrig_domains[0] (send.test).mailboxes[3]: give {local_part, name, daily_limit}") for p in problems)
    assert len(problems) == 3  # "x" is a plain local part, which coldrig.infra.mailboxes takes


def test_backend_and_dns_provider():
    assert check([{"name": "a.test"}], backend="mailcow") == [
        "coldrig_backend: 'mailcow' is not available yet (available: postfix)"]
    assert check([{"name": "a.test"}], dns={"provider": "route53"}) == [
        "coldrig_dns.provider: 'route53' is not one of rfc2136, cloudflare"]
    assert check([{"name": "a.test"}], dns={"provider": "rfc2136"}) == [
        "coldrig_dns.server: the rfc2136 provider needs the primary server's name or address",
        "coldrig_dns.tsig_key_name: the rfc2136 provider needs the TSIG key's name",
        "coldrig_dns.tsig_key_secret: give tsig_key_secret or tsig_key_file",
    ]


def test_no_domain_at_all():
    assert check([]) == ["coldrig_domains: give a list of sending domains, each at least {name: <domain>}"]


# ---- item 12 of issue 10: everything that fails later is refused before any change


@pytest.mark.parametrize("limit", [0, -5, "0", True, 1.5])
def test_a_domain_daily_limit_below_one_is_refused(limit):
    problems = check([{"name": "send.test", "daily_limit": limit}])
    assert problems == ["coldrig_domains[0] (send.test).daily_limit: %r is not a whole number of at least 1 "
                        "(the recipients a mailbox may send to a day)" % (limit,)]


def test_a_mailbox_daily_limit_below_one_is_refused():
    problems = check([{"name": "send.test", "mailboxes": [{"local_part": "ana", "daily_limit": 0},
                                                          {"local_part": "bob", "daily_limit": 1}]}])
    assert problems == ["coldrig_domains[0] (send.test).mailboxes[0].daily_limit: 0 is not a whole number of at "
                        "least 1 (the recipients a mailbox may send to a day)"]


def test_a_daily_limit_of_one_or_a_templated_number_passes():
    assert check([{"name": "send.test", "daily_limit": 1}, {"name": "b.test", "daily_limit": "30"}]) == []


@pytest.mark.parametrize("selector", ["S1", "s_1", "s 1", "../s1", "-s1", ""])
def test_a_bad_domain_dkim_selector_is_refused(selector):
    problems = check([{"name": "send.test", "dkim_selector": selector}])
    assert len(problems) == 1
    assert problems[0].startswith("coldrig_domains[0] (send.test).dkim_selector: %r " % selector)


def test_a_bad_role_level_dkim_selector_is_refused():
    assert check([{"name": "send.test"}], dkim_selector="s1") == []
    problems = check([{"name": "send.test"}], dkim_selector="Sel_1")
    assert len(problems) == 1 and problems[0].startswith("mail_dns_dkim_selector: 'Sel_1' ")


def test_a_dkim_selector_with_dots_passes_as_rfc_6376_allows():
    assert check([{"name": "send.test", "dkim_selector": "s2026.a"}]) == []


def test_an_unknown_rfc2136_key_is_refused_with_the_keys_it_takes():
    problems = check([{"name": "a.test"}], dns=dict(DNS, tsig_secret="c2VjcmV0", api_token="x"))
    assert problems == ["coldrig_dns: unknown key(s) api_token, tsig_secret for provider rfc2136 (known: provider, "
                        "server, port, tsig_key_name, tsig_key_secret, tsig_key_file, tsig_algorithm, on_conflict; see docs/onboarding-spec.md)"]


def test_an_unknown_cloudflare_key_is_refused_with_the_keys_it_takes():
    assert check([{"name": "a.test"}], dns={"provider": "cloudflare", "api_token": "t"}) == []
    problems = check([{"name": "a.test"}], dns={"provider": "cloudflare", "api_token": "t", "server": "ns1.x.test",
                                                "zone_id": "abc"})
    assert problems == ["coldrig_dns: unknown key(s) server, zone_id for provider cloudflare (known: provider, "
                        "api_token, api_base_url, on_conflict, batch_size; see docs/onboarding-spec.md)"]


def test_the_dns_keys_the_checker_takes_are_those_the_role_passes_and_the_module_knows():
    task = (ROOT / "roles" / "mail_dns" / "tasks" / "main.yml").read_text()
    passed = set(re.findall(r"mail_dns_provider\.([a-z_]+)", task))
    taken = set(DNS_PROVIDER_KEYS["rfc2136"]) | set(DNS_PROVIDER_KEYS["cloudflare"])
    assert taken == passed
    assert taken <= set(ARGUMENT_SPEC)


@pytest.mark.parametrize("secret", ["not base64!", "c2VjcmV0=x", "s3cr3t-%%"])
def test_a_tsig_secret_that_is_not_base64_is_refused_without_quoting_it(secret):
    problems = check([{"name": "a.test"}], dns={"provider": "rfc2136", "server": "127.0.0.1", "tsig_key_name": "k",
                                                "tsig_key_secret": secret})
    assert len(problems) == 1
    assert problems[0].startswith("coldrig_dns.tsig_key_secret: the value is not valid base64")
    assert secret not in problems[0]


def test_a_base64_tsig_secret_passes():
    assert check([{"name": "a.test"}], dns={"provider": "rfc2136", "server": "ns1.example.net", "tsig_key_name": "k",
                                            "tsig_key_secret": "c2VjcmV0c2VjcmV0c2VjcmV0"}) == []


def test_a_tsig_secret_and_a_key_file_together_are_refused():
    problems = check([{"name": "a.test"}], dns=dict(DNS, tsig_key_secret="c2VjcmV0"))
    assert problems == ["coldrig_dns.tsig_key_secret: give tsig_key_secret or tsig_key_file, not both"]


def test_bad_rfc2136_server_port_key_name_and_algorithm_are_each_named():
    problems = check([{"name": "a.test"}], dns={"provider": "rfc2136", "server": "ns 1", "port": 0,
                                                "tsig_key_name": "k..x", "tsig_key_file": "/k", "tsig_algorithm": "md5"})
    assert [p.split(":")[0] for p in problems] == ["coldrig_dns.server", "coldrig_dns.port", "coldrig_dns.tsig_key_name",
                                                   "coldrig_dns.tsig_algorithm"]
    assert "coldrig_dns.port: 0 is not a port from 1 to 65535" in problems


@pytest.mark.parametrize("name", ["Emma: Walker", "Emma\nWalker", "   ", "x" * 129, 42])
def test_a_display_name_the_mailboxes_module_refuses_is_refused(name):
    problems = check([{"name": "send.test", "mailboxes": [{"local_part": "emma", "name": name}]}])
    assert len(problems) == 1
    assert problems[0].startswith("coldrig_domains[0] (send.test).mailboxes[0].name: %r " % (name,))
    with pytest.raises(mailboxes.MailboxError):
        mailboxes.parse_request([{"local_part": "emma", "name": name}], "present")


def test_a_display_name_the_mailboxes_module_takes_passes():
    assert check([{"name": "send.test", "mailboxes": [{"local_part": "emma", "name": "Emma Walker-Ödegaard"}]}]) == []


@pytest.mark.parametrize("quota", ["2048k", "10B", "1g", "512M", "1T", 2048])
def test_a_quota_the_mailboxes_module_takes_passes(quota):
    assert check([{"name": "send.test", "quota": quota}]) == []


@pytest.mark.parametrize("quota", ["1 GB", "1.5G", "-1G", "G", "", "1P", True])
def test_a_quota_the_mailboxes_module_refuses_is_refused(quota):
    problems = check([{"name": "send.test", "quota": quota}])
    assert len(problems) == 1 and problems[0].startswith("coldrig_domains[0] (send.test).quota: %r " % (quota,))


def test_the_default_mailbox_quota_is_checked_too():
    assert check([{"name": "send.test"}], mailbox_quota="1G") == []
    assert check([{"name": "send.test"}], mailbox_quota="1 GB") == [
        "coldrig_mailbox_quota: '1 GB' %s" % validate.quota_problem("1 GB")]


@pytest.mark.parametrize("local", ["-sales", "ana_", "a" * 64])
def test_local_parts_follow_the_rules_of_the_mailboxes_module(local):
    assert check([{"name": "send.test", "mailboxes": [{"local_part": local}]}]) == []
    assert mailboxes.local_part_problem(local) is None


def test_a_domain_name_is_checked_by_the_shared_validator():
    problems = check([{"name": "bad_domain.test"}])
    assert problems == ["coldrig_domains[0].name: 'bad_domain.test' %s" % validate.domain_problem("bad_domain.test")]


def test_a_ttl_the_dns_provider_does_not_take_is_refused_before_any_change():
    from ansible_collections.coldrig.infra.plugins.filter.onboarding_spec_errors import onboarding_spec_errors

    domains = [{"name": "a.example.com", "ttl": 172800}, {"name": "b.example.com", "ttl": 300}]
    cloudflare = {"provider": "cloudflare", "api_token": "t"}
    errors = onboarding_spec_errors(domains, dns=cloudflare)
    assert errors == ["coldrig_domains[0] (a.example.com).ttl: 172800 is more than the DNS provider cloudflare "
                      "takes (60 to 86400 seconds)"]
    rfc2136 = {"provider": "rfc2136", "server": "ns1.example.net", "tsig_key_name": "k", "tsig_key_secret": "c2VjcmV0"}
    assert onboarding_spec_errors(domains, dns=rfc2136) == []


def test_on_conflict_and_batch_size_reach_the_push_and_bad_values_are_refused():
    from ansible_collections.coldrig.infra.plugins.filter.onboarding_spec_errors import onboarding_spec_errors

    domains = [{"name": "a.example.com"}]
    good = {"provider": "cloudflare", "api_token": "t", "on_conflict": "replace", "batch_size": 3500}
    assert onboarding_spec_errors(domains, dns=good) == []
    bad = {"provider": "cloudflare", "api_token": "t", "on_conflict": "overwrite", "batch_size": 5000}
    errors = onboarding_spec_errors(domains, dns=bad)
    assert any(e.startswith("coldrig_dns.on_conflict: 'overwrite' is not one of fail") for e in errors), errors
    assert any(e.startswith("coldrig_dns.batch_size: 5000 is not from 1 to 3500") for e in errors), errors
    rfc2136 = {"provider": "rfc2136", "server": "ns1.example.net", "tsig_key_name": "k", "tsig_key_secret": "c2VjcmV0",
               "batch_size": 10}
    assert any("unknown key(s) batch_size for provider rfc2136" in e for e in onboarding_spec_errors(domains, dns=rfc2136))


def test_a_bad_spec_level_dkim_selector_is_refused():
    from ansible_collections.coldrig.infra.plugins.filter.onboarding_spec_errors import onboarding_spec_errors

    errors = onboarding_spec_errors([{"name": "a.example.com"}], spec_dkim_selector="S_1")
    assert len(errors) == 1 and errors[0].startswith("coldrig_dkim_selector: 'S_1'"), errors
    assert onboarding_spec_errors([{"name": "a.example.com"}], spec_dkim_selector="s2") == []


CF = {"provider": "cloudflare", "api_token": "t"}
ACCOUNT = "0123456789abcdef0123456789abcdef"
NAMECHEAP = {"provider": "namecheap", "api_user": "coldrig", "api_key": "SECRET-KEY", "client_ip": "198.51.100.7"}
INTAKE = {"registrar": "namecheap", "create_zone": True}


def test_a_good_intake_has_no_problem_and_without_intake_nothing_is_asked():
    assert check([{"name": "a.test", "intake": INTAKE}], dns=CF, registrar=NAMECHEAP,
                 cloudflare_account_id=ACCOUNT) == []
    assert check([{"name": "a.test"}], dns=DNS) == []


def test_intake_keys_are_checked_naming_the_domain_and_the_key():
    problems = check([{"name": "a.test", "intake": {"registrar": "godaddy", "create_zone": "yes", "zone": 1}},
                      {"name": "b.test", "intake": {"create_zone": False}},
                      {"name": "c.test", "intake": "namecheap"}],
                     dns=CF, registrar=NAMECHEAP, cloudflare_account_id=ACCOUNT)
    assert problems == [
        "coldrig_domains[0] (a.test).intake: unknown key(s) zone (known: registrar, create_zone; see docs/onboarding-spec.md)",
        "coldrig_domains[0] (a.test).intake.registrar: 'godaddy' is not one of namecheap (the registrars coldrig can set "
        "nameservers at); leave it out to set them by hand",
        "coldrig_domains[0] (a.test).intake.create_zone: 'yes' is not true or false",
        "coldrig_domains[1] (b.test).intake: gives no registrar and create_zone: false, so the intake has nothing to do; "
        "leave intake out, or give registrar",
        "coldrig_domains[2] (c.test).intake: 'namecheap' is not a mapping such as {registrar: namecheap, create_zone: true}",
    ]


def test_intake_settings_are_checked_naming_the_variable_and_never_quoting_the_api_key():
    problems = check([{"name": "a.test", "intake": INTAKE}], dns=DNS, cloudflare_account_id="acct",
                     registrar=dict(NAMECHEAP, client_ip="me", api_user="", api_secret="x"))
    assert problems[0].startswith("coldrig_dns.provider: 'rfc2136' is not cloudflare: a domain's intake creates")
    assert problems[1].startswith("coldrig_cloudflare_account_id: 'acct' is not a Cloudflare account id")
    assert problems[2].startswith("coldrig_registrar: unknown key(s) api_secret for provider namecheap")
    assert problems[3].startswith("coldrig_registrar.api_user: is missing or empty")
    assert problems[4].startswith("coldrig_registrar.client_ip: 'me' is not an IPv4 address")
    assert len(problems) == 5 and not any("SECRET-KEY" in p for p in problems)
    missing = check([{"name": "a.test", "intake": INTAKE}], dns=CF, cloudflare_account_id=ACCOUNT)
    assert missing == ["coldrig_registrar: give the registrar's API settings, e.g. {provider: namecheap, api_user: ..., "
                       "api_key: ..., client_ip: ...} (a domain's intake names registrar namecheap)"]


def test_the_registrar_keys_the_checker_takes_are_those_intake_passes_and_the_module_knows():
    from ansible.module_utils.basic import env_fallback  # pylint: disable=import-outside-toplevel
    from ansible_collections.coldrig.infra.plugins.module_utils.onboarding_spec import REGISTRAR_KEYS  # pylint: disable=import-outside-toplevel
    from ansible_collections.coldrig.infra.plugins.module_utils.registrar import argument_spec  # pylint: disable=import-outside-toplevel

    playbook = (ROOT / "playbooks" / "intake.yml").read_text()
    passed = set(re.findall(r"intake_registrar\.([a-z_]+)", playbook)) | {"provider"}
    assert set(REGISTRAR_KEYS["namecheap"]) == passed
    assert passed - {"provider"} <= set(argument_spec(env_fallback))
