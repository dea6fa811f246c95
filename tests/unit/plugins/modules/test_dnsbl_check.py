"""coldrig.infra.dnsbl_check in this process: options, the overall deadline, fail or warn, and errors that name the field."""
from __future__ import annotations

import time

import pytest

from ansible_collections.coldrig.infra.plugins.modules import dnsbl_check as module
from tests.support.dns_server import DnsTestServer
from tests.support.silent_dns import SilentDnsServer


def warnings(result):
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]


ZEN = dict(name="zen", zone="zen.spamhaus.org", kind="ip", dqs=True,
           codes=[dict(code="127.0.0.2", meaning="SBL"),
                  dict(code="127.255.255.254", status="unchecked", meaning="public resolver")])


@pytest.fixture(scope="module")
def server():
    records = [("2.2.0.192.zen.spamhaus.org", "A", "127.0.0.2"),
               ("2.2.0.192.zen.spamhaus.org", "TXT", '"listed: see example"'),
               ("3.2.0.192.zen.spamhaus.org", "A", "127.255.255.254")]
    with DnsTestServer(records, zones=["zen.spamhaus.org"]) as dns_server:
        yield dns_server


def args(server, **extra):
    base = {"addresses": ["192.0.2.1", "192.0.2.2"], "resolvers": [server.target], "default_lists": False,
            "lists": [ZEN], "timeout": 2}
    base.update(extra)
    return base


def test_listed_warns_instead_of_failing_with_on_listed_warn(server, run_module):
    result = run_module(module, args(server, on_listed="warn"))
    assert not result["failed"] and not result["changed"]
    assert [r["status"] for r in result["results"]] == ["clean", "listed"]
    assert result["results"][1]["txt"] == ["listed: see example"]
    assert warnings(result) == ["192.0.2.2 is listed on zen (127.0.0.2): listed: see example"]
    assert result["msg"] == "1 listed, 1 clean, 0 could not be checked, of 2 queries (2 targets on 1 lists)"


def test_a_listing_fails_by_default_with_the_table(server, run_module):
    result = run_module(module, args(server))
    assert result["failed"]
    assert result["msg"].splitlines()[1].split() == ["TARGET", "LIST", "STATUS", "CODE", "DETAIL"]
    assert result["msg"].splitlines()[2].split()[:4] == ["192.0.2.2", "zen", "listed", "127.0.0.2"]


def test_could_not_check_warns_by_default_and_fails_with_on_error_fail(server, run_module):
    warned = run_module(module, args(server, addresses=["192.0.2.3"]))
    assert not warned["failed"] and warned["results"][0]["status"] == "error"
    assert warnings(warned)[0].startswith("192.0.2.3 on zen: could not check: use your own resolver")
    failed = run_module(module, args(server, addresses=["192.0.2.3"], on_error="fail"))
    assert failed["failed"] and "0 listed, 0 clean, 1 could not be checked" in failed["msg"]


def test_a_list_the_resolver_refuses_is_an_error_not_clean(server, run_module):
    other = dict(ZEN, name="other", zone="bl.other.test", dqs=False)
    result = run_module(module, args(server, lists=[other], addresses=["192.0.2.1"]))
    (row,) = result["results"]
    assert row["status"] == "error" and row["error"] == "no usable answer: %s answered REFUSED" % server.target


def test_queries_left_at_the_overall_deadline_are_errors_and_the_run_ends(run_module):
    with SilentDnsServer() as silent:
        start = time.monotonic()
        result = run_module(module, {"addresses": ["192.0.2.1", "192.0.2.2", "192.0.2.3"], "resolvers": [silent.target],
                                     "default_lists": False, "lists": [ZEN], "timeout": 1, "deadline": 1.5,
                                     "concurrency": 1})
        elapsed = time.monotonic() - start
    errors = [r["error"] for r in result["results"]]
    assert errors[0] == "no answer from %s within 1 s" % silent.target
    assert errors[1:] == ["not answered within the overall deadline of 1.5 s"] * 2
    assert elapsed < 4


def test_a_domain_is_asked_once_as_its_registered_domain(run_module):
    with DnsTestServer([("example.test.dbl.example", "A", "127.0.0.2")], zones=["dbl.example"]) as dns_server:
        result = run_module(module, {"domains": ["mail.example.test", "www.example.test"], "resolvers": [dns_server.target],
                                     "default_lists": False, "on_listed": "warn",
                                     "lists": [dict(name="dbl", zone="dbl.example", kind="domain",
                                                    codes=[dict(code="127.0.0.2")])]})
    assert [(r["target"], r["status"]) for r in result["results"]] == [("example.test", "listed")]


@pytest.mark.parametrize("extra,message", [
    ({"addresses": ["192.0.2.300"]}, "addresses[0]: '192.0.2.300' is not an IPv4 or IPv6 address"),
    ({"addresses": [], "domains": ["localhost"]}, "domains[0]: 'localhost' has no dot"),
    ({"addresses": [], "domains": []}, "addresses, domains: give at least one address or domain to check"),
    ({"resolvers": ["127.0.0.1:99999"]}, "resolvers[0]: '127.0.0.1:99999': '99999' is not a port"),
    ({"timeout": 0}, "timeout: 0 is not between 0 and 60 seconds"),
    ({"deadline": 1}, "deadline: 1 is not between timeout (2) and 3600 seconds"),
    ({"concurrency": 0}, "concurrency: 0 is not from 1 to 500"),
    ({"lists": [dict(ZEN, codes=[dict(code="127.0.0.2.1")])]}, "lists[0].codes[0].code: '127.0.0.2.1' is not an IPv4"),
    ({"default_lists": True, "exclude_lists": ["spamhaus-zne"]}, "exclude_lists: spamhaus-zne is not among the lists"),
    ({"domains": ["example.com"], "addresses": [], "lists": [ZEN]}, "nothing to ask: the lists are of kind ip only"),
])
def test_bad_options_fail_before_any_query_naming_the_field_and_the_value(server, run_module, extra, message):
    result = run_module(module, args(server, **extra))
    assert result["failed"] and result["msg"].startswith(message), result["msg"]


def test_check_mode_runs_the_same_queries(server, run_module):
    result = run_module(module, args(server, on_listed="warn"), check=True)
    assert [r["status"] for r in result["results"]] == ["clean", "listed"]


def test_no_resolvers_and_no_system_resolver_fails_with_what_to_give(monkeypatch, run_module):
    import dns.asyncresolver
    import dns.resolver

    def unconfigured(*_args, **_kwargs):
        raise dns.resolver.NoResolverConfiguration("no nameservers")

    monkeypatch.setattr(dns.asyncresolver, "Resolver", unconfigured)
    result = run_module(module, {"addresses": ["192.0.2.1"], "default_lists": False, "lists": [ZEN]})
    assert result["failed"]
    assert result["msg"] == ("resolvers: none given and the system has no resolver configured (no nameservers); "
                             "give resolvers: [host or host:port]")
