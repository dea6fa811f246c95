# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS providers behind one interface: read a zone's records, apply a plan.

Each provider turns its own record format into the canonical Records of
dns_records.py, so the plan, the idempotence and the diff are the same for all:

* ``rfc2136``: any primary that takes TSIG-signed dynamic updates (Knot, BIND,
  PowerDNS); the whole plan in one UPDATE message.
* ``cloudflare``: API v4; the zone's records in one listing and the whole plan in one
  ``POST /zones/{id}/dns_records/batch`` (deletes, patches, posts).
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
    """A provider failed; the message carries the provider's own code and text."""


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

    def read(self, zone, pairs):
        self.zone = zone
        try:
            return self.client.read(zone, pairs)
        except Rfc2136Error as exc:
            raise ProviderError(str(exc))

    def apply(self, zone, current, plan):
        try:
            self.client.apply(zone, current, plan)
        except Rfc2136Error as exc:
            raise ProviderError(str(exc))

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
        body["proxied"] = False  # mail records are never proxied: SMTP does not pass Cloudflare's proxy
    return body


class CloudflareProvider(object):
    name = "cloudflare"

    def __init__(self, api_token, base_url, timeout, max_retries):
        try:
            self.client = CloudflareClient(api_token, base_url=base_url, timeout=timeout, max_retries=max_retries)
        except (CloudflareError, ValueError) as exc:
            raise ProviderError(str(exc))
        self.zone_id = None

    @property
    def requests(self):
        return self.client.request_count

    def read(self, zone, pairs):
        wanted = set(pairs)
        try:
            self.zone_id = self.client.zone_id(zone)
            items = self.client.list_records(self.zone_id)
        except CloudflareError as exc:
            raise ProviderError(str(exc))
        records = [record_from_cloudflare(item) for item in items]
        return [r for r in records if r.pair in wanted]

    def apply(self, zone, current, plan):
        if not plan.changed:
            return
        deletes = [{"id": r.id} for r in plan.delete]
        patches = []
        for old, new in plan.update:
            body = cloudflare_body(new)
            body["id"] = old.id
            patches.append(body)
        posts = [cloudflare_body(r) for r in plan.add]
        try:
            self.client.batch(self.zone_id, deletes=deletes, patches=patches, posts=posts)
        except CloudflareError as exc:
            raise ProviderError("%s; the batch is all or nothing, so zone %s is unchanged" % (exc, zone))

    def close(self):
        self.client.close()
