"""Zone backups: the files dns_records writes before a write, and the plan that puts one back."""

import datetime
import json
import os
import stat

import pytest

from ansible_collections.coldrig.infra.plugins.module_utils.dns_records import Record
from ansible_collections.coldrig.infra.plugins.module_utils.zone_backup import (
    BackupError,
    bind_text,
    read_backup,
    restore_plan,
    write_backup,
)

ZONE = "example.test"
WHEN = datetime.datetime(2026, 12, 3, 10, 45, 0, 123456, tzinfo=datetime.timezone.utc)
DKIM = "v=DKIM1; k=rsa; p=" + "A" * 400
RECORDS = [
    Record(ZONE, "NS", "ns1.provider.test", 86400),
    Record(ZONE, "MX", "mail.example.test", 3600, 10),
    Record(ZONE, "TXT", "v=spf1 ip4:192.0.2.10 ~all", 3600),
    Record(ZONE, "TXT", "v=spf1 -all", 3600),  # a broken zone is backed up as it is
    Record("s1._domainkey." + ZONE, "TXT", DKIM, 3600),
    Record("mail." + ZONE, "A", "192.0.2.10", 300, proxied=False),
    Record("www." + ZONE, "CNAME", "example.test", 1, proxied=True),
    Record("_sip._tcp." + ZONE, "SRV", "5 5060 sip.example.test", 3600, 10),
    Record(ZONE, "CAA", '0 issue "letsencrypt.org"', 3600),
]


def test_backup_is_json_and_a_zone_file_readable_only_by_the_owner(tmp_path):
    path, zone_file = write_backup(str(tmp_path), ZONE, "cloudflare", RECORDS, now=WHEN)
    assert path == str(tmp_path / ZONE / "20261203T104500.123456Z.json")
    assert zone_file == path[:-len(".json")] + ".zone"
    for name in (path, zone_file):
        assert stat.S_IMODE(os.stat(name).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / ZONE).st_mode) == 0o700
    document = json.loads(open(path).read())
    assert document["zone"] == ZONE and document["provider"] == "cloudflare" and document["complete"] is True
    assert len(document["records"]) == len(RECORDS)  # unfiltered: the apex NS and the second SPF value too


def test_backup_read_back_gives_the_same_records_ttl_priority_and_proxy_flag(tmp_path):
    path, _zone_file = write_backup(str(tmp_path), ZONE, "cloudflare", RECORDS, complete=False, now=WHEN)
    zone, provider, complete, records = read_backup(path)
    assert (zone, provider, complete) == (ZONE, "cloudflare", False)

    def key(record):
        return (record.key, record.ttl, record.proxied)

    assert sorted(map(key, records), key=repr) == sorted(map(key, RECORDS), key=repr)


def test_zone_file_has_absolute_names_split_txt_and_priorities():
    text = bind_text(RECORDS, ZONE, "rfc2136", "2026-12-03T10:45:00Z")
    lines = text.splitlines()
    assert "$ORIGIN example.test." in lines
    assert "example.test. 3600 IN MX 10 mail.example.test." in lines
    assert "_sip._tcp.example.test. 3600 IN SRV 10 5 5060 sip.example.test." in lines
    assert 'example.test. 3600 IN CAA 0 issue "letsencrypt.org"' in lines
    dkim = next(line for line in lines if line.startswith("s1._domainkey"))
    assert dkim.startswith('s1._domainkey.example.test. 3600 IN TXT "v=DKIM1; k=rsa; p=') and '" "' in dkim
    assert all(len(part) <= 255 for part in dkim.split(" IN TXT ", 1)[1].strip('"').split('" "'))


def test_zone_file_loads_in_dnspython_as_the_same_records():
    dns_zone = pytest.importorskip("dns.zone")
    text = "@ 3600 IN SOA ns1.provider.test. hostmaster.example.test. 1 7200 900 1209600 300\n"
    text += bind_text(RECORDS, ZONE, "rfc2136", "2026-12-03T10:45:00Z")
    loaded = dns_zone.from_text(text, origin=ZONE + ".", relativize=False)
    count = sum(len(rdataset) for _name, node in loaded.nodes.items() for rdataset in node.rdatasets)
    assert count == len(RECORDS) + 1  # and the SOA line added above


def test_unwritable_backup_dir_fails_naming_the_field_and_the_fix(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(BackupError, match="backup_dir: cannot write the backup of example.test .*backup: false"):
        write_backup(str(blocker), ZONE, "rfc2136", RECORDS)


def test_a_file_that_is_not_a_backup_is_refused_naming_src(tmp_path):
    other = tmp_path / "x.json"
    other.write_text('{"records": 1}')
    with pytest.raises(BackupError, match="src: .* is not a coldrig zone backup"):
        read_backup(str(other))


def test_restore_plan_adds_removes_and_puts_ttl_and_proxy_back_leaving_apex_ns_alone():
    now = [
        Record(ZONE, "NS", "ns9.other.test", 86400),  # the provider's: never touched
        Record(ZONE, "MX", "mail.example.test", 3600, 10),
        Record(ZONE, "TXT", "v=spf1 ip4:192.0.2.99 ~all", 3600),  # pushed after the backup
        Record("mail." + ZONE, "A", "192.0.2.10", 3600, record_id="a1", proxied=False),  # TTL changed
        Record("www." + ZONE, "CNAME", "example.test", 1, record_id="c1", proxied=False),  # proxy turned off
        Record(ZONE, "HINFO", '"x" "y"', 3600),  # a type coldrig does not manage: left alone
    ]
    plan = restore_plan(RECORDS, now, ZONE)
    assert sorted(r.content for r in plan.add) == sorted(
        ["v=spf1 ip4:192.0.2.10 ~all", "v=spf1 -all", DKIM, "5 5060 sip.example.test", '0 issue "letsencrypt.org"'])
    assert [r.content for r in plan.delete] == ["v=spf1 ip4:192.0.2.99 ~all"]
    assert [(old.id, new.ttl, new.proxied) for old, new in plan.update] == [("a1", 300, False), ("c1", 1, True)]
    assert restore_plan(RECORDS, RECORDS + [Record(ZONE, "NS", "ns9.other.test")], ZONE).changed is False


def test_restore_plan_of_a_partial_backup_touches_only_its_pairs():
    backup = [Record("mail." + ZONE, "A", "192.0.2.10", 300)]
    now = [Record("mail." + ZONE, "A", "192.0.2.11", 300), Record("www." + ZONE, "A", "192.0.2.12", 300)]
    plan = restore_plan(backup, now, ZONE, pairs={("mail." + ZONE, "A")})
    assert [r.content for r in plan.add] == ["192.0.2.10"]
    assert [r.content for r in plan.delete] == ["192.0.2.11"]
