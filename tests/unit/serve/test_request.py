"""The POST body: checked with check.yml's spec checker, every problem naming its field."""

from pathlib import Path

from coldrig.serve import request

ROOT = Path(__file__).resolve().parents[3]
CHECKER = request.spec_checker(ROOT)
VALIDATE = request.validate_module(ROOT)
INVENTORIES = {"lab": "inventories/lab"}


def _problems(body):
    return request.problems(body, INVENTORIES, CHECKER, VALIDATE)


def test_a_good_request_has_no_problem():
    assert _problems({"nodes": ["node1"], "coldrig_domains": [{"name": "example.com", "mailboxes": 3}],
                      "coldrig_dns": {"provider": "cloudflare", "api_token": "t"}}) == []


def test_every_problem_names_its_field():
    problems = _problems({"nodes": [], "inventory": "prod", "on_busy": "never", "extra": 1,
                          "coldrig_domains": [{"name": "bad_domain.com"}], "coldrig_backend": "exim",
                          "coldrig_dns": {"provider": "rfc2136"}})
    for field in ("body: unknown key(s) extra", "inventory: 'prod'", "nodes: give a list", "on_busy: 'never'",
                  "coldrig_domains[0].name", "coldrig_backend: 'exim'", "coldrig_dns.server",
                  "coldrig_dns.tsig_key_name", "coldrig_dns.tsig_key_secret"):
        assert any(problem.startswith(field) for problem in problems), (field, problems)


def test_the_checker_is_the_one_check_yml_uses():
    assert CHECKER.__name__ == "ansible_collections.coldrig.infra.plugins.module_utils.onboarding_spec"
    assert Path(CHECKER.__file__).resolve() == ROOT / "plugins" / "module_utils" / "onboarding_spec.py"


def test_a_body_that_is_not_an_object_is_one_problem():
    assert _problems([1, 2]) == ["body: list is not a JSON object of the onboarding spec plus inventory and nodes"]


def test_node_names_are_host_names():
    problems = _problems({"nodes": ["node1", "a b", 7, "node1"], "coldrig_domains": [{"name": "example.com"}]})
    assert any(problem.startswith("nodes[1]: 'a b'") for problem in problems)
    assert any(problem.startswith("nodes[2]: 7 is not a string") for problem in problems)
    assert "nodes: a node is listed twice" in problems


def test_secrets_are_masked_wherever_they_are():
    spec = {"coldrig_dns": {"provider": "rfc2136", "tsig_key_name": "k", "tsig_key_secret": "c2VjcmV0"},
            "coldrig_tls": {"email": "a@example.com"}, "other": [{"api_token": "t", "password": ""}]}
    assert request.masked(spec) == {
        "coldrig_dns": {"provider": "rfc2136", "tsig_key_name": "k", "tsig_key_secret": "********"},
        "coldrig_tls": {"email": "a@example.com"}, "other": [{"api_token": "********", "password": ""}]}


def test_a_deeply_nested_body_is_one_problem_not_a_crash():
    deep = []
    for _tick in range(900):
        deep = [deep]
    problems = _problems({"nodes": ["node1"], "coldrig_domains": [{"name": "example.com"}], "coldrig_tls": deep})
    assert problems == ["coldrig_tls: nested deeper than 32 levels"]


def test_a_callback_url_with_a_user_or_password_is_refused_without_echoing_it():
    from coldrig.serve import callback  # pylint: disable=import-outside-toplevel
    assert callback.url_problem("https://hooks.example.com/coldrig?token=abc") is None
    assert callback.url_problem("https://bob:pw@hooks.example.com/x").startswith("carries a user or password")
    assert callback.url_problem("hooks.example.com/x") == "is not an http(s) URL with a host"
    assert callback.url_problem("https://" + "a" * 2000) == "give an http(s) URL of at most 2000 characters"
