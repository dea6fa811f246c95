from ansible_collections.coldrig.infra.plugins.filter.onboarding_spec_errors import onboarding_spec_errors

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
    assert "coldrig_domains[2] (second.test).daily_limit: 'lots' is not a whole number of at least 0" in problems
    assert any("unknown key(s) dmarc_polcy" in p for p in problems)


def test_an_spf_over_ten_lookups_is_refused_before_anything_changes():
    includes = ["include:_spf%d.relay.test" % i for i in range(11)]
    problems = check([{"name": "send.test", "spf_extra": includes}])
    assert len(problems) == 1 and "spf_extra" in problems[0] and "10" in problems[0]


def test_mailbox_lists_are_checked_item_by_item():
    problems = check([{"name": "send.test", "mailboxes": [{"local_part": "ana.bell"}, {"local_part": "ana.bell"},
                                                          {"local_part": ".bad"}, "x"]}])
    assert "coldrig_domains[0] (send.test).mailboxes[1].local_part: 'ana.bell' is listed twice" in problems
    assert any(p.startswith("coldrig_domains[0] (send.test).mailboxes[2].local_part: '.bad'") for p in problems)
    assert any(p.startswith("coldrig_domains[0] (send.test).mailboxes[3]: give {local_part, name}") for p in problems)


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
