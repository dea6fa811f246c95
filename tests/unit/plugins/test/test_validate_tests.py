"""The Jinja tests of the roles' input checks (coldrig.infra.fqdn, ...) apply validate.py's rules."""

import pytest

from ansible_collections.coldrig.infra.plugins.module_utils import validate
from ansible_collections.coldrig.infra.plugins.test import validate as test_plugin

TESTS = test_plugin.TestModule().tests()


def test_every_test_is_documented_in_its_own_file():
    import yaml
    from pathlib import Path

    folder = Path(__file__).resolve().parents[4] / "plugins" / "test"
    for name in TESTS:
        doc = yaml.safe_load((folder / ("%s.yml" % name)).read_text())
        assert doc["DOCUMENTATION"]["name"] == name
        assert doc["EXAMPLES"] and doc["RETURN"]["_value"]["type"] == "boolean"


@pytest.mark.parametrize("value", ["mx1.example.com", "mail.xn--bcher-kva.example", "a-b.co"])
def test_fqdn_accepts_a_lower_case_host_name(value):
    assert TESTS["fqdn"](value)


@pytest.mark.parametrize("value", ["localhost", "mx1.example.com.", "MX1.example.com", "mx_1.example.com",
                                   "192.0.2.1", "mx1..example.com", "-mx.example.com", "", None, 42])
def test_fqdn_refuses_what_a_role_cannot_use_as_the_host_name(value):
    assert not TESTS["fqdn"](value)


def test_fqdn_agrees_with_the_checker_on_label_length():
    assert TESTS["fqdn"]("a" * 63 + ".com")
    assert not TESTS["fqdn"]("a" * 64 + ".com")
    assert validate.fqdn_problem("a" * 64 + ".com")


def test_domain_refuses_names_the_spec_checker_refuses():
    for value in ("example.com", "bad_name.com", "localhost", "example.123", "Example.com"):
        assert TESTS["domain"](value) is (validate.domain_problem(value) is None and value == value.lower())


@pytest.mark.parametrize("value,allow_root,ok", [("coldrig", False, True), ("_svc", False, True), ("root", False, False),
                                                 ("root", True, True), ("Admin", False, False), ("1user", False, False),
                                                 ("a" * 33, False, False), (None, False, False)])
def test_unix_user_refuses_root_unless_allowed(value, allow_root, ok):
    assert TESTS["unix_user"](value, allow_root=allow_root) is ok


@pytest.mark.parametrize("value,ok", [("1G", True), ("512M", True), ("2048k", True), ("10B", True), (2048, True),
                                      ("1 GB", False), ("1.5G", False), ("1P", False), ("", False), (True, False)])
def test_quota_takes_what_the_mailboxes_module_takes(value, ok):
    assert TESTS["quota"](value) is ok


@pytest.mark.parametrize("value,ok", [(1, True), (22, True), ("2222", True), (65535, True), (0, False), (65536, False),
                                      (70000, False), (True, False), ("ssh", False)])
def test_port_is_from_1_to_65535(value, ok):
    assert TESTS["port"](value) is ok


@pytest.mark.parametrize("value,ok", [("s1", True), ("mail2026.a", True), ("S1", False), ("s_1", False), ("", False)])
def test_dkim_selector(value, ok):
    assert TESTS["dkim_selector"](value) is ok
