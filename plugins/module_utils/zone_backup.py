# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Zone backups: the records of a zone as read before a write, saved and put back.

A backup is two files beside each other in ``<backup_dir>/<zone>/`` (directory mode 0700):

* ``<UTC time>.json`` (mode 0600): ``{"format": 1, "zone", "provider", "time", "complete",
  "records": [{"name", "relative_name", "type", "content", "ttl", "priority"?, "proxied"?}]}``;
* ``<UTC time>.zone`` (mode 0600): the same records as a BIND zone file, for a person to read
  or to load into a DNS server by hand.

No credential is written: only the zone's records and where they came from.
``complete`` is false when the provider could not read the whole zone (an RFC 2136 server
that refuses AXFR): the backup then holds only the records at the managed names.

The restore plan (restore_plan) makes the zone match a backup with plan_changes, with purge
over every (name, type) in the backup or in the zone now, except the apex SOA and NS, which
belong to the DNS provider.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os

from ansible_collections.coldrig.infra.plugins.module_utils.dns_records import (
    HOST_TYPES,
    Record,
    RecordError,
    normalise_content,
    normalise_zone,
    plan_changes,
    txt_presentation,
)

FORMAT = 1
DEFAULT_BACKUP_DIR = "~/.local/state/coldrig/zone-backups"


class BackupError(Exception):
    """A backup that cannot be written or read; the message names the file and the fix."""


def provider_owned(record, zone):
    """The apex SOA and NS records: the DNS provider's, never backed up as ours to restore."""
    return record.name == zone and record.type in ("SOA", "NS")


def record_dict(record, zone, provider):
    data = record.as_dict(zone)
    if provider == "cloudflare" and record.type in ("A", "AAAA", "CNAME"):
        data["proxied"] = bool(record.proxied)
    return data


def bind_text(records, zone, provider, when):
    """The records as a BIND zone file ($ORIGIN, one record per line, absolute names)."""
    lines = ["; coldrig zone backup of %s (%s) taken %s" % (zone, provider, when),
             "; the zone's SOA and apex NS records belong to the provider and are not listed",
             "$ORIGIN %s." % zone]
    for record in sorted(records, key=lambda r: (r.name, r.type, r.priority or 0, r.content or "")):
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
    """Save the records; returns the path of the JSON file. Raises BackupError."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    when = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    stamp = now.strftime("%Y%m%dT%H%M%S.%fZ")
    kept = [r for r in records if not provider_owned(r, zone)]
    base = os.path.abspath(os.path.expanduser(directory or DEFAULT_BACKUP_DIR))
    folder = os.path.join(base, zone)
    document = dict(format=FORMAT, zone=zone, provider=provider, time=when, complete=bool(complete),
                    records=[record_dict(r, zone, provider)
                             for r in sorted(kept, key=lambda r: (r.name, r.type, r.priority or 0, r.content or ""))])
    path = os.path.join(folder, stamp + ".json")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        for place in (base, folder):
            os.chmod(place, 0o700)
        _write(path, json.dumps(document, indent=2, sort_keys=True) + "\n")
        _write(os.path.join(folder, stamp + ".zone"), bind_text(kept, zone, provider, when))
    except (IOError, OSError) as exc:
        raise BackupError("backup_dir: cannot write the backup of %s under %s: %s; give a writable backup_dir, or "
                          "backup: false to write without one" % (zone, base, exc.strerror or exc))
    return path


def read_backup(path):
    """(zone, provider, complete, [Record]) from a backup's JSON file. Raises BackupError."""
    try:
        with open(os.path.expanduser(path)) as handle:
            document = json.load(handle)
    except (IOError, OSError) as exc:
        raise BackupError("backup: cannot read %s: %s" % (path, exc.strerror or exc))
    except ValueError as exc:
        raise BackupError("backup: %s is not JSON (%s): give the .json file of a coldrig zone backup" % (path, exc))
    if not isinstance(document, dict) or document.get("format") != FORMAT or not isinstance(document.get("records"), list):
        raise BackupError("backup: %s is not a coldrig zone backup (format %d): give the .json file that "
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
        raise BackupError("backup: %s" % exc)
    return zone, document.get("provider"), bool(document.get("complete", True)), records


def restore_plan(backup_records, current, zone):
    """The plan that makes the zone match the backup at every (name, type) in either, apex SOA/NS aside.

    ``current`` is what the zone holds now (every record read). Records of a pair the backup
    does not have are deleted; the others are made equal to the backup's, TTL and, on
    Cloudflare, the proxy flag included.
    """
    desired = [Record(r.name, r.type, r.content, r.ttl, r.priority, proxied=r.proxied)
               for r in backup_records if not provider_owned(r, zone)]
    current = [r for r in current if not provider_owned(r, zone)]
    plan = plan_changes(desired, current, "present", purge=True, on_conflict="replace", zone=zone)
    wanted = dict((r.key, r) for r in desired)
    kept = []
    for old, new in plan.update:
        new.proxied = bool(wanted[new.key].proxied) if new.key in wanted else None
        if old.key == new.key and old.ttl == new.ttl and bool(old.proxied) == bool(new.proxied):
            continue  # only the proxy flag differed, and the backup had it so too
        kept.append((old, new))
    plan.update = kept
    backup_pairs = set(r.pair for r in desired)
    deleted = set(id(r) for r in plan.delete)
    for record in current:
        if record.pair not in backup_pairs and id(record) not in deleted:
            plan.delete.append(record)
            deleted.add(id(record))
    return plan
