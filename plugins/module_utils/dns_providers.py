# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS providers behind one interface: read a zone's records, apply a plan.

Each provider turns its own record format into the canonical Records of
dns_records.py, so the plan, the idempotence and the diff are the same for all:

* ``rfc2136``: any primary that takes TSIG-signed dynamic updates (Knot, BIND,
  PowerDNS); the whole plan in one UPDATE message.
* ``cloudflare``: API v4; the zone's records in one listing and the plan in
  ``POST /zones/{id}/dns_records/batch`` calls (deletes, patches, posts) of at most
  ``batch_size`` changes each (Cloudflare's plan limit: 200 on Free, 3,500 on paid plans).
  One batch is all or nothing; several are not atomic together, so they go in an order
  that never leaves a name without its record, and a re-run finishes an interrupted run.

``read`` returns every record at the managed names (all types), so that the plan sees a
CNAME that conflicts with a desired record; ``zone_records`` then holds every record of the
zone as read (None when the provider could read only the managed names), for the backup and
the restore. ``apply`` returns the number of writes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.coldrig.infra.plugins.module_utils.cloudflare import CloudflareClient, CloudflareError
from ansible_collections.coldrig.infra.plugins.module_utils.dns_records import (
    Record,
    RecordError,
    normalise_content,
    txt_presentation,
)
from ansible_collections.coldrig.infra.plugins.module_utils.rfc2136 import Rfc2136Client, Rfc2136Error

PROXIABLE = ("A", "AAAA", "CNAME")


class ProviderError(Exception):
    """A provider failed; the message carries the provider's own code and text.

    ``applied`` says what is known of the zone: "none" (a clear refusal, nothing changed),
    "partial" (some batches applied), "unknown" (the write may or may not have been applied).
    """

    def __init__(self, msg, applied="none", batches=0):
        super(ProviderError, self).__init__(msg)
        self.applied = applied
        self.batches = batches


class Rfc2136Provider(object):
    name = "rfc2136"

    def __init__(self, server, port, key_name, key_secret, algorithm, timeout):
        try:
            self.client = Rfc2136Client(server, port, key_name, key_secret, algorithm, timeout)
        except Rfc2136Error as exc:
            raise ProviderError(str(exc))
        self.zone = None

    @property
    def requests(self):
        return self.client.queries

    @property
    def zone_records(self):
        """Every record of the zone from the last read (AXFR), or None when the server refused the transfer."""
        return self.client.zone_records

    def read(self, zone, pairs):
        self.zone = zone
        try:
            return self.client.read(zone, pairs)
        except Rfc2136Error as exc:
            raise ProviderError(str(exc))

    def apply(self, zone, current, plan):
        """One UPDATE message, then the managed names read back (the server may say NOERROR and ignore it)."""
        try:
            self.client.apply(zone, current, plan)
        except Rfc2136Error as exc:
            raise ProviderError(str(exc), applied=getattr(exc, "applied", "none"), batches=1)
        return 1

    def close(self):
        return None


def record_from_cloudflare(item):
    rtype = item.get("type", "")
    content = item.get("content", "")
    priority = item.get("priority") if rtype in ("MX", "SRV") else None
    if rtype == "SRV" and isinstance(item.get("data"), dict):
        data = item["data"]
        priority = data.get("priority", priority)
        content = "%s %s %s" % (data.get("weight"), data.get("port"), data.get("target"))
    try:
        content = normalise_content(rtype, content)
    except RecordError:
        pass  # a record this module would not write; compare it as Cloudflare has it
    return Record(item.get("name", "").rstrip(".").lower(), rtype, content, item.get("ttl", 1), priority,
                  record_id=item.get("id"), proxied=bool(item.get("proxied")))


def cloudflare_body(record):
    body = {"name": record.name, "type": record.type, "ttl": record.ttl}
    if record.type == "TXT":
        body["content"] = txt_presentation(record.content)
    elif record.type == "SRV":
        weight, port, target = record.content.split()
        body["data"] = {"priority": record.priority, "weight": int(weight), "port": int(port), "target": target}
    else:
        body["content"] = record.content
    if record.type in ("MX",):
        body["priority"] = record.priority
    if record.type in PROXIABLE:
        # mail records are never proxied (SMTP does not pass Cloudflare's proxy); a restore puts back what was
        body["proxied"] = bool(record.proxied)
    return body


class CloudflareProvider(object):
    name = "cloudflare"

    @staticmethod
    def zone_listing(api_token, base_url, timeout, max_retries, limiter=None):
        """({zone name: id} of every zone the token can read, from one paginated listing, its request count,
        and the listing's client, whose connection pool the run's providers share; the caller closes it)."""
        try:
            client = CloudflareClient(api_token, base_url=base_url, timeout=timeout, max_retries=max_retries,
                                      limiter=limiter)
        except (CloudflareError, ValueError) as exc:
            raise ProviderError(str(exc))
        try:
            zones = client.zones(per_page=50)
        except CloudflareError as exc:
            client.close()
            raise ProviderError(str(exc))
        return dict((z.get("name", "").lower(), z.get("id")) for z in zones if z.get("id")), client.request_count, client

    def __init__(self, api_token, base_url, timeout, max_retries, batch_size=200, zone_ids=None, limiter=None,
                 http=None):
        self.batch_size = max(1, int(batch_size))
        try:
            self.client = CloudflareClient(api_token, base_url=base_url, timeout=timeout, max_retries=max_retries,
                                           limiter=limiter, http=http)
        except (CloudflareError, ValueError) as exc:
            raise ProviderError(str(exc))
        self.zone_id = None
        self.zone_records = None  # every record of the zone from the last read
        # {zone name: id} from one listing of the account's zones (dns_sync.sync_zones), so that
        # a push of many zones costs no lookup per zone.
        self.zone_ids = zone_ids or {}

    @property
    def requests(self):
        return self.client.request_count

    def read(self, zone, pairs):
        wanted = set(pairs)
        try:
            self.zone_id = self.zone_ids.get(zone) or self.client.zone_id(zone)
            items = self.client.list_records(self.zone_id)
        except CloudflareError as exc:
            raise ProviderError(str(exc))
        names = set(name for name, _rtype in wanted)
        records = [record_from_cloudflare(item) for item in items]
        self.zone_records = records
        return [r for r in records if r.name in names]

    def apply(self, zone, current, plan):
        """The plan in batches of at most batch_size changes; returns the number of batches sent."""
        if not plan.changed:
            return 0
        batches = cloudflare_batches(plan, self.batch_size)
        for number, ops in enumerate(batches, 1):
            try:
                self.client.batch(self.zone_id, deletes=ops["deletes"], patches=ops["patches"], posts=ops["posts"])
            except CloudflareError as exc:
                raise ProviderError(self._failure(exc, zone, number, len(batches)),
                                    applied=self._applied(exc, number), batches=number)
        return len(batches)

    @staticmethod
    def _applied(exc, number):
        """What a failed batch left: only a clear 4xx refusal (not 429, which is retried) means not applied."""
        clear_refusal = exc.status is not None and 400 <= exc.status < 500
        if clear_refusal:
            return "partial" if number > 1 else "none"
        return "unknown"

    def _failure(self, exc, zone, number, total):
        clear_refusal = exc.status is not None and 400 <= exc.status < 500
        which = "" if total == 1 else "batch %d of %d: " % (number, total)
        if clear_refusal:
            if number == 1:
                return "%s%s; Cloudflare refused the batch whole, so zone %s is unchanged" % (which, exc, zone)
            return ("%s%s; Cloudflare refused this batch whole, but the %d batch(es) before it were applied, so zone %s "
                    "is partly changed: fix the cause and run again to finish" % (which, exc, number - 1, zone))
        return ("%s%s; no clear answer came back, so the batch may have been applied; run again to converge "
                "(the re-run reads zone %s and sends only what is still missing)" % (which, exc, zone))

    def close(self):
        self.client.close()


def cloudflare_batches(plan, size):
    """The plan as a list of {"deletes", "patches", "posts"} batches of at most ``size`` operations.

    Cloudflare runs one batch all or nothing (deletes, then patches, then posts). Between
    batches a resolver may look, so the order keeps every name answering:

    1. at each name where a conflicting record must go (on_conflict=replace), its deletes
       together with the posts and patches at that name, in one batch when they fit;
    2. patches (a value replaced in place, e.g. a new SPF value over the old one);
    3. posts (new values);
    4. the other deletes last (surplus slot values, purged and absent values), once what
       replaces them is in place.

    A run cut short between batches is finished by a re-run, which plans only what is left.
    """
    size = max(1, int(size))
    patch_of = {}
    for old, new in plan.update:
        body = cloudflare_body(new)
        body["id"] = old.id
        patch_of.setdefault(new.name, []).append(("patches", body))
    post_of = {}
    for record in plan.add:
        post_of.setdefault(record.name, []).append(("posts", cloudflare_body(record)))
    conflict_ids = set(id(r) for r in plan.conflicts)
    units = []
    conflict_names = []
    for record in plan.conflicts:
        if record.name not in conflict_names:
            conflict_names.append(record.name)
    for name in conflict_names:
        unit = [("deletes", {"id": r.id}) for r in plan.conflicts if r.name == name]
        unit += patch_of.pop(name, []) + post_of.pop(name, [])
        units.append(unit)
    units += [[op] for name in sorted(patch_of) for op in patch_of[name]]
    units += [[op] for name in sorted(post_of) for op in post_of[name]]
    units += [[("deletes", {"id": r.id})] for r in plan.delete if id(r) not in conflict_ids]

    batches, current = [], []
    for unit in units:
        if current and len(current) + len(unit) > size:
            batches.append(current)
            current = []
        while len(unit) > size:  # one name with more changes than a batch holds: split it, deletes first
            batches.append(unit[:size])
            unit = unit[size:]
        current = current + unit
    if current:
        batches.append(current)
    return [dict((kind, [body for k, body in ops if k == kind]) for kind in ("deletes", "patches", "posts"))
            for ops in batches]
