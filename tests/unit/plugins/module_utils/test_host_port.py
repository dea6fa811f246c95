"""host[:port] parsing, shared by egress_check's hosts and mail_check's DNS servers."""
from __future__ import annotations

import pytest

from ansible_collections.coldrig.infra.plugins.module_utils.host_port import parse_host_port


@pytest.mark.parametrize("text, default, expected", [
    ("gmail-smtp-in.l.google.com", 25, ("gmail-smtp-in.l.google.com", 25)),
    ("relay.example.net:2525", 25, ("relay.example.net", 2525)),
    ("[2001:db8::25]:587", 25, ("2001:db8::25", 587)),
    ("2001:db8::25", 25, ("2001:db8::25", 25)),
    ("[2001:db8::25]", 25, ("2001:db8::25", 25)),
    ("127.0.0.1", 53, ("127.0.0.1", 53)),
    ("127.0.0.1:10053", 53, ("127.0.0.1", 10053)),
    ("[::1]:5353", 53, ("::1", 5353)),
    (" ns1.example.com ", 53, ("ns1.example.com", 53)),
])
def test_hosts_parse_with_and_without_a_port(text, default, expected):
    assert parse_host_port(text, default) == expected


@pytest.mark.parametrize("text, error", [
    ("", r"^empty"),
    (None, r"^empty"),
    ("mx:0", r"'0' is not a port"),
    ("mx:70000", r"'70000' is not a port"),
    ("mx:smtp", r"'smtp' is not a port"),
    ("[2001:db8::1", r"\[address\]:port"),
    ("[2001:db8::1]25", r"\[address\]:port"),
    (":25", r"the host is missing"),
])
def test_malformed_hosts_are_refused_with_the_reason(text, error):
    with pytest.raises(ValueError, match=error):
        parse_host_port(text, 25)
