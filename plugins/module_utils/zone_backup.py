# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Zone backups: the records of a zone as read before a write, saved and put back.

A backup is two files beside each other in ``<backup_dir>/<zone>/`` (directory mode 0700):

* ``<UTC time>.json`` (mode 0600): ``{"format": 1, "zone", "provider", "time", "complete",
  "records": [{"name", "relative_name", "type", "content", "ttl", "priority"?, "proxied"?}]}``;
* ``<UTC time>.zone`` (mode 0600): the same records as a BIND zone file, for a person to read
  or to load into a DNS server by hand.

The records are the zone as the provider listed it, unfiltered: Cloudflare's record listing,
or the RFC 2136 server's AXFR (which coldrig reads without the SOA and DNSSEC records).
``complete`` is false when the provider could not read the whole zone (an RFC 2136 server
that refuses AXFR): the backup then holds only the records at the managed names.
No credential is written: only the zone's records and where they came from.

restore_plan makes the zone equal to a backup, record for record, for the types coldrig
manages (dns_records.SUPPORTED_TYPES), except the apex SOA and NS records, which belong to
the DNS provider (Cloudflare assigns its name servers; the SOA serial is the server's).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os

from ansible_collections.coldrig.infra.plugins.module_utils.dns_records import (
    HOST_TYPES,
    SUPPORTED_TYPES,
    Plan,
    Record,
    RecordError,
    normalise_content,
    normalise_zone,
    txt_presentation,
)

FORMAT = 1
DEFAULT_BACKUP_DIR = "~/.local/state/coldrig/zone-backups"


class BackupError(Exception):
    """A backup that cannot be written or read; the message names the file and the fix."""


def provider_owned(record, zone):
    """The apex SOA and NS records: the DNS provider's, never put back by a restore."""
    return record.name == zone and record.type in ("SOA", "NS")


def _order(record):
    return (record.name, record.type, record.priority or 0, record.content or "")


def record_dict(record, zone):
    data = record.as_dict(zone)
    if record.proxied is not None:
        data["proxied"] = bool(record.proxied)
    return data


def bind_text(records, zone, provider, when):
    """The records as a BIND zone file ($ORIGIN, one record per line, absolute names)."""
    lines = ["; coldrig zone backup of %s (%s) taken %s" % (zone, provider, when),
             "; restore it with coldrig.infra.dns_restore and the .json file beside this one",
             "$ORIGIN %s." % zone]
    if provider == "cloudflare":
        lines.insert(2, "; a TTL of 1 is Cloudflare's 'automatic'")
    for record in sorted(records, key=_order):
        content = record.content or ""
        if record.type == "TXT":
            content = txt_presentation(content)
        elif record.type in HOST_TYPES:
            content += "."
        elif record.type == "SRV":
            weight, port, target = (content.split() + ["", "", ""])[:3]
            content = "%s %s %s" % (weight, port, target if target == "." else target + ".")
        if record.priority is not None:
            content = "%d %s" % (record.priority, content)
        lines.append("%s. %d IN %s %s" % (record.name, record.ttl, record.type, content))
    return "\n".join(lines) + "\n"


def _write(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def write_backup(directory, zone, provider, records, complete=True, now=None):
    """Save the records as read; returns (JSON path, zone file path). Raises BackupError."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    when = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    stamp = now.strftime("%Y%m%dT%H%M%S.%fZ")
    base = os.path.abspath(os.path.expanduser(directory or DEFAULT_BACKUP_DIR))
    folder = os.path.join(base, zone)
    document = dict(format=FORMAT, zone=zone, provider=provider, time=when, complete=bool(complete),
                    records=[record_dict(r, zone) for r in sorted(records, key=_order)])
    path = os.path.join(folder, stamp + ".json")
    zone_file = os.path.join(folder, stamp + ".zone")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)
        _write(path, json.dumps(document, indent=2, sort_keys=True) + "\n")
        _write(zone_file, bind_text(records, zone, provider, when))
    except (IOError, OSError) as exc:
        raise BackupError("backup_dir: cannot write the backup of %s under %s: %s; give a writable backup_dir, or "
                          "backup: false to write without one" % (zone, base, exc.strerror or exc))
    return path, zone_file


def read_backup(path):
    """(zone, provider, complete, [Record]) from a backup's JSON file. Raises BackupError."""
    try:
        with open(os.path.expanduser(path)) as handle:
            document = json.load(handle)
    except (IOError, OSError) as exc:
        raise BackupError("src: cannot read %s: %s" % (path, exc.strerror or exc))
    except ValueError as exc:
        raise BackupError("src: %s is not JSON (%s): give the .json file of a coldrig zone backup" % (path, exc))
    if not isinstance(document, dict) or document.get("format") != FORMAT or not isinstance(document.get("records"), list):
        raise BackupError("src: %s is not a coldrig zone backup (format %d): give the .json file that "
                          "coldrig.infra.dns_records wrote" % (path, FORMAT))
    try:
        zone = normalise_zone(document.get("zone"))
        records = []
        for index, item in enumerate(document["records"]):
            where = "%s: records[%d]" % (path, index)
            rtype = str(item.get("type", "")).upper()
            name = str(item.get("name", "")).rstrip(".").lower()
            if name != zone and not name.endswith("." + zone):
                raise RecordError("%s.name: %r is not inside the zone %s" % (where, name, zone))
            content = normalise_content(rtype, item.get("content"), field=where + ".content")
            records.append(Record(name, rtype, content, int(item.get("ttl", 3600)), item.get("priority"),
                                  proxied=item.get("proxied")))
    except (RecordError, AttributeError, TypeError, ValueError) as exc:
        raise BackupError("src: %s" % exc)
    return zone, document.get("provider"), bool(document.get("complete", True)), records


def restored_scope(record, zone):
    """True for a record a restore manages: a type coldrig manages, the apex SOA and NS aside."""
    return record.type in SUPPORTED_TYPES and not provider_owned(record, zone)


def restore_plan(backup_records, current, zone, pairs=None):
    """The plan that makes the zone's records equal to the backup's, record for record.

    ``current`` is what the zone holds now. Only records of the types coldrig manages are
    compared, and never the apex SOA and NS records (restored_scope); with ``pairs`` (a backup
    that holds only the managed names) only those (name, type) pairs. A record in both is
    updated when its TTL or, on Cloudflare, its proxy flag differs; a record only in the zone
    is deleted; a record only in the backup is added.
    """
    def in_scope(record):
        return restored_scope(record, zone) and (pairs is None or record.pair in pairs)

    wanted = [r for r in backup_records if in_scope(r)]
    now = [r for r in current if in_scope(r)]
    plan = Plan()
    left = list(now)
    for record in wanted:
        match = next((r for r in left if r.key == record.key), None)
        if match is None:
            plan.add.append(Record(record.name, record.type, record.content, record.ttl, record.priority,
                                   proxied=record.proxied))
            continue
        left.remove(match)
        if match.ttl != record.ttl or bool(match.proxied) != bool(record.proxied):
            plan.update.append((match, Record(record.name, record.type, record.content, record.ttl, record.priority,
                                              match.id, proxied=record.proxied)))
    plan.delete.extend(left)
    return plan
