"""coldrig.infra.dns_records with provider=cloudflare, against the local Cloudflare API simulator.

The simulator (tests/support/cloudflare_sim.py) is not Cloudflare: it answers the documented
API v4 calls the module uses, over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import httpx
import pytest

from tests.integration.helpers import run_module
from tests.support.cloudflare_sim import CloudflareSimulator

TOKEN = "cf-test-token-0123456789abcdefghijklmn"
ZONE = "send.example.test"
DKIM = "v=DKIM1; k=rsa; p=" + "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" * 9
MAIL = [
    {"type": "A", "name": "mail", "content": "192.0.2.10", "purge": True},
    {"type": "MX", "name": "@", "content": "mail.send.example.test", "priority": 10, "purge": True},
    {"type": "TXT", "name": "@", "content": "v=spf1 ip4:192.0.2.10 ~all"},
    {"type": "TXT", "name": "s1._domainkey", "content": DKIM},
    {"type": "TXT", "name": "_dmarc", "content": "v=DMARC1; p=reject"},
    {"type": "TXT", "name": "_mta-sts", "content": "v=STSv1; id=20261121"},
    {"type": "TXT", "name": "_smtp._tls", "content": "v=TLSRPTv1; rua=mailto:tls@send.example.test"},
    {"type": "A", "name": "mta-sts", "content": "192.0.2.10", "purge": True},
]


@pytest.fixture
def sim():
    with CloudflareSimulator(tokens=[TOKEN]) as simulator:
        simulator.add_zone(ZONE)
        yield simulator


def push(sim, records, token=TOKEN, **extra):
    args = {"provider": "cloudflare", "zone": ZONE, "api_token": token, "api_base_url": sim.base_url,
            "records": records}
    args.update(extra)
    return run_module("coldrig.infra.dns_records", args)


def test_first_push_is_three_requests_and_an_unchanged_rerun_two(sim):
    first = push(sim, MAIL)
    assert first["changed"] and len(first["added"]) == 8 and first["requests"] == 3, first
    assert [m for m, _p in sim.requests] == ["GET", "GET", "POST"]
    sim.reset_metrics()
    second = push(sim, MAIL)
    assert not second["changed"] and second["requests"] == 2, second
    assert len(sim.requests) == 2


def test_mail_records_are_never_proxied_and_a_proxied_one_is_fixed(sim):
    push(sim, MAIL)
    record = next(r for r in sim.records(ZONE) if r["name"] == "mail.send.example.test")
    assert record["proxied"] is False
    # someone turns Cloudflare's proxy on for the mail host, which breaks SMTP
    response = httpx.patch(f"{sim.base_url}/zones/{record['zone_id']}/dns_records/{record['id']}",
                           json={"proxied": True}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.json()["result"]["proxied"] is True
    result = push(sim, MAIL)
    assert [u["after"]["name"] for u in result["updated"]] == ["mail.send.example.test"]
    assert next(r for r in sim.records(ZONE) if r["id"] == record["id"])["proxied"] is False


def test_changed_address_is_one_patch_keeping_the_record_id(sim):
    push(sim, MAIL)
    before = {r["name"]: r["id"] for r in sim.records(ZONE) if r["type"] == "A"}
    moved = [dict(r, content="192.0.2.20") if r["type"] == "A" else r for r in MAIL]
    result = push(sim, moved)
    assert len(result["updated"]) == 2 and not result["added"] and not result["removed"]
    after = {r["name"]: (r["id"], r["content"]) for r in sim.records(ZONE) if r["type"] == "A"}
    assert after == {name: (rid, "192.0.2.20") for name, rid in before.items()}


def test_other_txt_values_at_the_apex_stay(sim):
    push(sim, [{"type": "TXT", "content": "google-site-verification=abc"}])
    push(sim, MAIL)
    apex = sorted(r["content"] for r in sim.records(ZONE) if r["type"] == "TXT" and r["name"] == ZONE)
    assert len(apex) == 2 and any("google-site-verification" in c for c in apex)


def test_wrong_token_fails_with_cloudflares_code_and_never_shows_the_token(sim):
    result = push(sim, MAIL, token="wrong-token-abcdefghijklmnopqrstuvwxyz")
    assert result["failed"] and "9109" in result["msg"] and "Invalid access token" in result["msg"]
    assert "wrong-token-abcdefghijklmnopqrstuvwxyz" not in result["_output"]
    assert sim.records(ZONE) == []


def test_unknown_zone_fails_naming_it(sim):
    result = push(sim, MAIL, zone="other.example.test")
    assert result["failed"] and "other.example.test" in result["msg"]


def test_rate_limit_is_waited_out(sim):
    sim.fail_next(1, status=429, retry_after=1)
    result = push(sim, MAIL)
    assert result["changed"] and result["requests"] == 4


def test_token_from_the_environment(sim, monkeypatch):
    args = {"provider": "cloudflare", "zone": ZONE, "api_base_url": sim.base_url, "records": MAIL[:1]}
    result = run_module("coldrig.infra.dns_records", args, env={"CLOUDFLARE_API_TOKEN": TOKEN})
    assert result["changed"], result


def test_absent_deletes_in_the_same_single_batch(sim):
    push(sim, MAIL)
    sim.reset_metrics()
    result = push(sim, [{"type": "TXT", "name": "_smtp._tls"}, {"type": "TXT", "name": "_mta-sts"}], state="absent")
    assert len(result["removed"]) == 2 and [m for m, _p in sim.requests] == ["GET", "GET", "POST"]


def _sim_post(sim, record):
    zone_id = sim.records(ZONE)[0]["zone_id"] if sim.records(ZONE) else None
    if zone_id is None:
        zone_id = httpx.get(f"{sim.base_url}/zones", params={"name": ZONE},
                            headers={"Authorization": f"Bearer {TOKEN}"}).json()["result"][0]["id"]
    response = httpx.post(f"{sim.base_url}/zones/{zone_id}/dns_records", json=record,
                          headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    return response.json()["result"]


def _batches(sim):
    return [p for m, p in sim.requests if m == "POST" and p.endswith("/batch")]


DMARC = {"type": "TXT", "name": "_dmarc", "content": "v=DMARC1; p=reject"}
VENDOR = {"type": "CNAME", "name": "_dmarc", "content": "send.example.test.dmarc.vendor.example", "ttl": 300}


# ---- issue 10, item 1: conflicts with what is in the zone
def test_a_dmarc_cname_to_a_vendor_fails_before_any_write_naming_the_cname_and_the_fix(sim):
    _sim_post(sim, VENDOR)
    sim.reset_metrics()
    result = push(sim, [DMARC])
    assert result["failed"] and not _batches(sim), result
    assert "_dmarc.send.example.test CNAME send.example.test.dmarc.vendor.example" in result["msg"]
    assert "on_conflict: replace" in result["msg"]
    assert [c["type"] for c in result["conflicts"]] == ["CNAME"]
    assert [r["type"] for r in sim.records(ZONE)] == ["CNAME"]


def test_on_conflict_replace_removes_the_cname_and_publishes_dmarc_in_one_batch(sim):
    _sim_post(sim, VENDOR)
    sim.reset_metrics()
    result = push(sim, [DMARC], on_conflict="replace")
    assert result["changed"] and len(_batches(sim)) == 1, result
    assert [c["type"] for c in result["conflicts_removed"]] == ["CNAME"]
    assert "because on_conflict=replace" in result["_output"], result["_output"]  # a warning
    assert [(r["type"], r["content"]) for r in sim.records(ZONE)] == [("TXT", '"v=DMARC1; p=reject"')]
    assert not push(sim, [DMARC], on_conflict="replace")["changed"]


def test_a_desired_cname_where_an_a_record_is_fails_before_cloudflare_refuses_it(sim):
    _sim_post(sim, {"type": "A", "name": "track", "content": "192.0.2.7"})
    sim.reset_metrics()
    tracking = {"type": "CNAME", "name": "track", "content": "t.vendor.example"}
    result = push(sim, [tracking])
    assert result["failed"] and not _batches(sim) and "81053" not in result["msg"], result
    assert "track.send.example.test A 192.0.2.7" in result["msg"]
    replaced = push(sim, [tracking], on_conflict="replace")
    assert replaced["changed"] and [r["type"] for r in sim.records(ZONE)] == ["CNAME"], replaced


# ---- issue 10, item 2: one value per mail TXT slot
def test_second_spf_and_dmarc_values_are_removed_in_the_same_write_and_reported(sim):
    push(sim, MAIL)
    for record in ({"type": "TXT", "name": "@", "content": "v=spf1 include:old.example ~all"},
                   {"type": "TXT", "name": "_dmarc", "content": "v=DMARC1; p=none"},
                   {"type": "TXT", "name": "@", "content": "google-site-verification=abc"}):
        _sim_post(sim, record)
    sim.reset_metrics()
    result = push(sim, MAIL)
    assert result["changed"] and len(_batches(sim)) == 1, result
    assert sorted(r["content"] for r in result["extras_removed"]) == ["v=DMARC1; p=none", "v=spf1 include:old.example ~all"]
    assert result["_output"].count("removed a second") == 2, result["_output"]  # warnings
    txt = sorted((r["name"], r["content"].strip('"')) for r in sim.records(ZONE) if r["type"] == "TXT"
                 and r["name"] in (ZONE, "_dmarc." + ZONE))
    assert txt == [("_dmarc.send.example.test", "v=DMARC1; p=reject"),
                   (ZONE, "google-site-verification=abc"), (ZONE, "v=spf1 ip4:192.0.2.10 ~all")]
    assert not push(sim, MAIL)["changed"]


# ---- issue 10, item 4: the batch limit
def many(n, content="192.0.2.10"):
    return [{"type": "A", "name": f"h{i:03d}", "content": content, "purge": True} for i in range(n)]


def test_a_change_set_above_the_batch_limit_goes_in_several_batches_and_says_it_was_not_atomic(sim):
    result = push(sim, many(450))
    assert result["changed"] and result["batches"] == 3 and result["atomic"] is False, result
    assert "was not atomic across batches" in result["_output"], result["_output"]
    assert len(sim.records(ZONE)) == 450 and len(_batches(sim)) == 3
    assert not push(sim, many(450))["changed"]


def test_a_batch_above_the_plan_limit_is_a_clear_refusal_that_leaves_the_zone_unchanged(sim):
    result = push(sim, many(250), batch_size=3500)  # a paid plan's size against the simulator's Free plan limit
    assert result["failed"] and result["applied"] == "none" and "is unchanged" in result["msg"], result
    assert "may have been applied" not in result["msg"] and sim.records(ZONE) == []


def test_a_later_batch_refused_whole_says_the_batches_before_it_were_applied(sim):
    # three 3000-byte TXT values at one name: Cloudflare caps a name's TXT content at 8192 characters (1004)
    big = [{"type": "TXT", "name": "zz", "content": f"token-{i}=" + "x" * 3000} for i in range(3)]
    result = push(sim, many(250) + big)
    assert result["failed"] and result["applied"] == "partial" and result["changed"] is True, result
    assert "batch 2 of 2" in result["msg"] and "the 1 batch(es) before it were applied" in result["msg"], result
    assert "1004" in result["msg"] and len(sim.records(ZONE)) == 200


def test_a_sequence_cut_after_its_first_batch_is_finished_by_a_rerun(sim):
    push(sim, many(450))
    sim.reset_metrics()
    sim.fail_after_applying(1, status=502, path="/batch")  # batch 1 of 3 applied, answered 502: the run stops
    cut = push(sim, many(450, "192.0.2.11"))
    assert cut["failed"] and cut["applied"] == "unknown" and cut["batches"] == 1, cut
    contents = [r["content"] for r in sim.records(ZONE)]
    assert contents.count("192.0.2.11") == 200 and len(contents) == 450  # no name was left without its A record
    rerun = push(sim, many(450, "192.0.2.11"))
    assert rerun["changed"] and rerun["batches"] == 2, rerun
    assert sorted(set(r["content"] for r in sim.records(ZONE))) == ["192.0.2.11"] and len(sim.records(ZONE)) == 450


# ---- issue 10, item 5: ambiguous failures
def test_a_5xx_after_the_batch_was_applied_says_may_have_been_applied_and_the_rerun_makes_no_duplicates(sim):
    sim.fail_after_applying(1, status=502, path="/batch")
    first = push(sim, MAIL)
    assert first["failed"] and "may have been applied" in first["msg"] and "unchanged" not in first["msg"], first
    assert first["changed"] is True and first["applied"] == "unknown"
    assert len(sim.records(ZONE)) == 8  # it was applied
    rerun = push(sim, MAIL)
    assert not rerun["failed"] and not rerun["changed"], rerun
    assert len(sim.records(ZONE)) == 8


def test_a_timeout_after_the_batch_was_applied_says_may_have_been_applied(sim):
    sim.fail_after_applying(1, status=504, delay=3, path="/batch")
    first = push(sim, MAIL, timeout=1)
    assert first["failed"] and "may have been applied" in first["msg"] and "unchanged" not in first["msg"], first
    rerun = push(sim, MAIL)
    assert not rerun["changed"] and len(sim.records(ZONE)) == 8, rerun


# ---- issue 10, item 11: no secret in any message
def test_an_argument_spec_error_never_shows_the_api_token(sim):
    result = run_module("coldrig.infra.dns_records", {"provider": "cloudflare", "zone": "x.test", "api_token": "SECRET-t0ken-value",
                                                      "records": [{"type": "AX"}]})
    assert result["failed"] and "must be one of" in result["msg"], result
    assert "SECRET-t0ken-value" not in result["_output"] and "SECRET-t0ken-value" not in str(result)


def test_the_module_itself_never_shows_the_api_token_in_an_argument_spec_error(tmp_path):
    """The module path (delegation, async) validates through AnsibleModule, which censors no_log values."""
    import json
    import os
    import subprocess
    import sys

    from tests.integration.helpers import ROOT

    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {
        "provider": "cloudflare", "zone": "x.test", "api_token": "SECRET-t0ken-value", "records": [{"type": "AX"}]}}))
    env = dict(os.environ, PYTHONPATH=str(ROOT / "collections"))
    result = subprocess.run([sys.executable, str(ROOT / "plugins/modules/dns_records.py"), str(args_file)],
                            capture_output=True, text=True, env=env, check=False, stdin=subprocess.DEVNULL)
    output = json.loads(result.stdout)
    assert output["failed"] and "must be one of" in output["msg"], output
    assert "SECRET-t0ken-value" not in result.stdout + result.stderr


def test_the_task_runs_with_async_poll_0_and_async_status(sim, tmp_path):
    """Before: "does not support async". With async the module runs through Ansible's async wrapper."""
    import json
    import os
    import subprocess

    from tests.integration.helpers import BIN, ROOT

    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "launch", "coldrig.infra.dns_records": {"provider": "cloudflare", "zone": ZONE, "api_token": TOKEN,
                                                          "api_base_url": sim.base_url, "records": MAIL},
         "async": 120, "poll": 0, "register": "job"},
        {"name": "wait", "ansible.builtin.async_status": {"jid": "{{ job.ansible_job_id }}"}, "register": "done",
         "until": "done.finished", "retries": 120, "delay": 0.5},
        {"name": "show", "ansible.builtin.debug": {
            "msg": "RESULT={{ {'changed': done.changed, 'added': done.added | length, 'batches': done.batches} | to_json }}"}},
    ]}]
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps(play))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_HOME=str(ROOT / ".ansible"),
               ANSIBLE_ASYNC_DIR=str(tmp_path / "async"), ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    # ansible-core's own strategy: mitogen (the lab's optional accelerator, which `make test` turns on) does
    # not run an action plugin's async wrapper; the playbooks never depend on mitogen.
    env.pop("ANSIBLE_STRATEGY", None)
    env.pop("ANSIBLE_STRATEGY_PLUGINS", None)
    command = [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", "-e",
               f"ansible_python_interpreter={os.sys.executable}", str(playbook)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False, cwd=ROOT,
                            stdin=subprocess.DEVNULL, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    shown = next(line for line in result.stdout.splitlines() if "RESULT=" in line).replace("\\", "")
    assert all(part in shown for part in ('"changed": true', '"added": 8', '"batches": 1')), result.stdout
    assert len(sim.records(ZONE)) == 8 and TOKEN not in result.stdout
