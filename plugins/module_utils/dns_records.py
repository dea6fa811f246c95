# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The record model shared by every DNS provider, and the plan that makes a zone match.

A record is compared in one canonical form whatever the provider returns:

* names are absolute, lower case, without the trailing dot (``@`` is the apex);
* host targets (CNAME, MX, NS, PTR) are lower case without the trailing dot;
* IPv6 addresses are compressed;
* TXT values are the logical string: quotes removed and 255-byte character-strings
  joined, so ``"v=DKIM1; k=rsa; " "p=MIIB..."`` equals ``v=DKIM1; k=rsa; p=MIIB...``
  (long DKIM keys split differently by each provider are the classic source of an
  endless "changed").

The plan works on (name, type) pairs: only pairs named in the desired list are
touched. Without ``purge`` other values at a pair stay, except for values that fill
the same *slot*: a slot holds one value after the run, so a TXT record that starts
with ``v=spf1`` replaces the old SPF value and any second SPF value is removed (two
SPF records are a permanent error, RFC 7208 3.2), and likewise DMARC, DKIM, MTA-STS
and TLS-RPT values; a CNAME replaces the CNAME. Records of other types at a managed
name are read too, because a CNAME cannot share its name with other data (RFC 1034
3.6.2): such a conflict fails the plan, or with ``on_conflict=replace`` the records
in the way are removed in the same write.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.coldrig.infra.plugins.module_utils import validate

SUPPORTED_TYPES = ("A", "AAAA", "CAA", "CNAME", "MX", "NS", "PTR", "SRV", "TXT")
HOST_TYPES = ("CNAME", "MX", "NS", "PTR")
DEFAULT_TTL = 3600
# TXT values whose version tag makes them one-of-a-kind at their name.
TXT_SLOTS = ("v=spf1", "v=dmarc1", "v=dkim1", "v=stsv1", "v=tlsrptv1")

# The TTLs a provider accepts: (lowest, highest, the value that means "automatic" or None).
# RFC 2181 section 8 allows 0 to 2147483647; 0 (never cache) is refused. Cloudflare's API:
# 1 is "automatic", otherwise 60 to 86400 seconds (Enterprise zones allow 30; not supported).
TTL_RANGES = {
    "rfc2136": (1, 2147483647, None),
    "cloudflare": (60, 86400, 1),
}
# Relative names whose last label is one of these, or the zone's own top-level label, look
# like a name in another zone (see absolute_name).
GENERIC_TLDS = ("com", "net", "org", "info", "biz", "edu", "gov", "mil", "int", "arpa")
# CAA property tags (RFC 8659 section 4.2 and the IANA registry); auth, path and policy are reserved.
CAA_TAGS = ("issue", "issuewild", "iodef", "contactemail", "contactphone", "issuevmc", "issuemail")


class RecordError(ValueError):
    """A desired record that cannot be used; the message names the field and the reason."""


def normalise_zone(zone):
    zone = (zone or "").strip().rstrip(".").lower()
    problem = validate.dns_name_problem(zone, wildcard=False)
    if problem:
        raise RecordError("zone: %r is not a valid DNS zone name: it %s" % (zone, problem))
    return zone


def _zone_looking_suffix(name, zone):
    """The part of a relative name that looks like another zone's name, or None.

    The rule: a relative name of two labels or more whose last label is the zone's own
    top-level label (``mail.other.test`` in ``example.test``) or a generic top-level
    domain of GENERIC_TLDS (``mail.example.com`` in ``example.net``). Such a name would
    become ``mail.other.test.example.test``, which is almost never what was meant.
    """
    labels = name.split(".")
    if len(labels) < 2:
        return None
    top = labels[-1]
    if top == zone.rsplit(".", 1)[-1] or top in GENERIC_TLDS:
        return ".".join(labels[-2:])
    return None


def absolute_name(name, zone, field="name"):
    """The record's FQDN (no trailing dot) for a name given relative, absolute or as @.

    A relative name that ends like another zone's name (see _zone_looking_suffix) is
    refused: write it in full inside the zone, or push it to the zone it belongs to.
    """
    name = (name if name is not None else "@").strip().lower()
    if name in ("@", ""):
        fqdn = zone
    elif name.endswith("."):
        fqdn = name.rstrip(".")
    elif name == zone or name.endswith("." + zone):
        fqdn = name
    else:
        suffix = _zone_looking_suffix(name, zone)
        if suffix:
            raise RecordError("%s: %r is relative, so it would become %s.%s, but it ends like a name in another "
                              "zone (%s): give the record to the zone it belongs to, or write the name in full "
                              "(%s.%s) if that is what you mean" % (field, name, name, zone, suffix, name, zone))
        fqdn = name + "." + zone
    if fqdn != zone and not fqdn.endswith("." + zone):
        raise RecordError("%s: %r is not inside the zone %s" % (field, name, zone))
    problem = validate.dns_name_problem(fqdn)
    if problem:
        raise RecordError("%s: %r is not a valid DNS name: it %s" % (field, name, problem))
    return fqdn


def relative_name(fqdn, zone):
    if fqdn == zone:
        return "@"
    return fqdn[: -(len(zone) + 1)]


def parse_character_strings(text):
    """Split presentation-format TXT data (``"a" "b"``) into its strings, unescaped."""
    strings = []
    i = 0
    length = len(text)
    while i < length:
        if text[i].isspace():
            i += 1
            continue
        if text[i] != '"':
            # An unquoted word: up to the next blank.
            end = i
            while end < length and not text[end].isspace():
                end += 1
            strings.append(text[i:end])
            i = end
            continue
        i += 1
        current = []
        while i < length and text[i] != '"':
            if text[i] == "\\" and i + 1 < length:
                following = text[i + 1:i + 4]
                if following.isdigit() and len(following) == 3:
                    current.append(chr(int(following)))
                    i += 4
                    continue
                current.append(text[i + 1])
                i += 2
                continue
            current.append(text[i])
            i += 1
        strings.append("".join(current))
        i += 1  # the closing quote
    return strings


def txt_value(content):
    """The logical value of TXT content given quoted/split or plain."""
    content = (content or "").strip()
    if content.startswith('"') and content.endswith('"') and len(content) >= 2:
        return "".join(parse_character_strings(content))
    return content


def txt_chunks(value, size=255):
    """Split a logical TXT value into character-strings of at most size bytes.

    A chunk never ends inside a UTF-8 sequence, so every chunk is valid UTF-8 on its own.
    """
    data = value.encode("utf-8")
    chunks = []
    start = 0
    while start < len(data):
        end = min(start + size, len(data))
        while start < end < len(data) and (data[end] & 0xC0) == 0x80:  # a continuation byte
            end -= 1
        chunks.append(data[start:end])
        start = end
    return chunks or [b""]


def txt_presentation(value):
    """Presentation format of a TXT value: quoted strings of at most 255 bytes, escaped."""
    out = []
    for chunk in txt_chunks(value):
        text = chunk.decode("utf-8")
        out.append('"%s"' % text.replace("\\", "\\\\").replace('"', '\\"'))
    return " ".join(out)


def _host_target(rtype, content, field):
    """A host name a record points at, canonical; refuses IP addresses and names without a dot."""
    host = content.strip().rstrip(".").lower()
    if validate.is_ip_address(host):
        raise RecordError("%s: %r is an IP address, but a %s record points at a host name: give the host's name "
                          "(its A/AAAA record holds the address)" % (field, content, rtype))
    if rtype == "CNAME":  # an alias may point at an owner name such as s1._domainkey.esp.example
        problem = validate.dns_name_problem(host, wildcard=False, min_labels=2)
    else:
        problem = validate.fqdn_problem(host)
    if problem:
        raise RecordError("%s: %r is not a host name: it %s" % (field, content, problem))
    return host


def _srv_content(content, field, strict):
    """``weight port target`` of an SRV record (RFC 2782); the priority is a field of its own."""
    parts = content.split()
    if len(parts) != 3:
        if not strict:
            return " ".join(parts)
        raise RecordError("%s: %r is not 'weight port target' (e.g. '5 443 sip.example.com'; "
                          "the priority goes in priority)" % (field, content))
    weight, port, target = parts
    if strict:
        for what, number in (("weight", weight), ("port", port)):
            if not number.isdigit() or int(number) > 65535:
                raise RecordError("%s: the %s %r of %r is not a number from 0 to 65535" % (field, what, number, content))
    if target in (".", "@"):
        target = "."  # "no such service here" (RFC 2782)
    elif strict:
        target = _host_target("SRV", target, field)
    else:
        target = target.rstrip(".").lower()
    if strict:
        weight, port = str(int(weight)), str(int(port))
    return "%s %s %s" % (weight, port, target)


def _caa_content(content, field):
    """``flags tag "value"`` of a CAA record (RFC 8659 section 4.1), canonical with a quoted value."""
    parts = content.split(None, 2)
    if len(parts) != 3:
        raise RecordError("%s: %r is not 'flags tag value' (e.g. '0 issue \"letsencrypt.org\"')" % (field, content))
    flags, tag, value = parts
    if not flags.isdigit() or int(flags) > 255:
        raise RecordError("%s: the flags %r of %r are not a number from 0 to 255 (0, or 128 for critical)"
                          % (field, flags, content))
    tag = tag.lower()
    if tag not in CAA_TAGS:
        raise RecordError("%s: the tag %r of %r is not one of %s (RFC 8659)" % (field, tag, content, ", ".join(CAA_TAGS)))
    if value.startswith('"'):
        if len(value) < 2 or not value.endswith('"'):
            raise RecordError("%s: the value %s of %r has no closing quote" % (field, value, content))
        value = value[1:-1]
    elif any(char.isspace() for char in value):
        raise RecordError("%s: the value %r of %r holds blanks: put it in double quotes" % (field, value, content))
    if '"' in value or "\\" in value or any(ord(char) < 32 or ord(char) > 126 for char in value):
        raise RecordError("%s: the value %r of %r may hold only printable ASCII without quotes or backslashes"
                          % (field, value, content))
    if tag in ("issue", "issuewild", "issuevmc", "issuemail"):
        issuer = value.split(";", 1)[0].strip()
        problem = validate.fqdn_problem(issuer) if issuer else None  # empty: no CA may issue
        if problem:
            raise RecordError("%s: the issuer %r of %r is not a CA's domain name: it %s" % (field, issuer, content, problem))
    elif tag == "iodef" and not value.lower().startswith(("mailto:", "http://", "https://")):
        raise RecordError("%s: the iodef value %r of %r is not a mailto:, http:// or https:// URL" % (field, value, content))
    elif not value:
        raise RecordError("%s: the %s value of %r is empty" % (field, tag, content))
    return '%d %s "%s"' % (int(flags), tag, value)


def normalise_content(rtype, content, field="content", strict=False):
    """The canonical content of a record.

    ``strict`` applies every rule for content this module writes (desired records):
    host targets are host names, not IP addresses; SRV and CAA syntax; TXT values not
    empty, without control characters, at most 4000 bytes. Without it (content read
    from a zone) the content is only put in canonical form, so whatever a zone holds
    can be read and compared.
    """
    content = "" if content is None else str(content).strip()
    if rtype == "A":
        try:
            return str(ipaddress.IPv4Address(content))
        except ValueError:
            raise RecordError("%s: %r is not an IPv4 address" % (field, content))
    if rtype == "AAAA":
        try:
            return ipaddress.IPv6Address(content).compressed
        except ValueError:
            raise RecordError("%s: %r is not an IPv6 address" % (field, content))
    if rtype in HOST_TYPES:
        if strict:
            return _host_target(rtype, content, field)
        host = content.rstrip(".").lower()
        if not host:
            raise RecordError("%s: %r is not a host name" % (field, content))
        return host
    if rtype == "TXT":
        value = txt_value(content)
        if strict:
            size = len(value.encode("utf-8"))
            if not value:
                raise RecordError("%s: the TXT value is empty: give the text, or use state=absent to remove "
                                  "the name's TXT records" % field)
            if any(ord(char) < 32 or ord(char) == 127 for char in value):
                raise RecordError("%s: the TXT value %r holds a control character (a line break or a tab, say)"
                                  % (field, value))
            if size > 4000:
                raise RecordError("%s: the TXT value is %d bytes, more than the 4000 this module sends" % (field, size))
        return value
    if not content:
        raise RecordError("%s: a %s record needs content" % (field, rtype))
    if rtype == "SRV":
        return _srv_content(content, field, strict)
    if rtype == "CAA" and strict:
        return _caa_content(content, field)
    return " ".join(content.split())


def txt_slot(value):
    lowered = value.lower()
    for tag in TXT_SLOTS:
        if lowered == tag or lowered.startswith(tag + ";") or lowered.startswith(tag + " "):
            return tag
    return None


class Record(object):
    """One DNS record in canonical form. ``key`` identifies the value; ttl is an attribute."""

    __slots__ = ("name", "type", "content", "ttl", "priority", "id", "proxied", "purge")

    def __init__(self, name, rtype, content, ttl=DEFAULT_TTL, priority=None, record_id=None, proxied=None, purge=None):
        self.name = name
        self.type = rtype
        self.content = content
        self.ttl = ttl
        self.priority = priority
        self.id = record_id  # the provider's id, where it has one (Cloudflare)
        self.proxied = proxied  # Cloudflare's proxy flag; mail records are never proxied
        self.purge = purge  # a desired record's own purge, overriding the call's for its (name, type)

    @property
    def pair(self):
        return (self.name, self.type)

    @property
    def key(self):
        return (self.name, self.type, self.content, self.priority)

    @property
    def slot(self):
        if self.type == "CNAME":
            return "cname"
        if self.type == "TXT":
            return txt_slot(self.content)
        return None

    def as_dict(self, zone=None):
        data = {"name": self.name, "type": self.type, "content": self.content, "ttl": self.ttl}
        if self.priority is not None:
            data["priority"] = self.priority
        if zone is not None:
            data["relative_name"] = relative_name(self.name, zone)
        return data

    def __eq__(self, other):
        return isinstance(other, Record) and self.key == other.key and self.ttl == other.ttl

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(self.key)

    def __repr__(self):
        priority = "" if self.priority is None else self.priority
        return "Record(%s %s %s %r ttl=%s)" % (self.name, self.type, priority, self.content, self.ttl)


def _ttl(value, where, provider):
    low, high, automatic = TTL_RANGES.get(provider or "rfc2136", TTL_RANGES["rfc2136"])
    if value in (None, ""):
        return DEFAULT_TTL
    ttl = validate.as_int(value)
    if ttl is None:
        raise RecordError("%s.ttl: %r is not a number of seconds" % (where, value))
    if ttl != automatic and not low <= ttl <= high:
        allowed = "%d to %d" % (low, high)
        if automatic is not None:
            allowed = "%d (automatic) or %s" % (automatic, allowed)
        raise RecordError("%s.ttl: %d is out of range for %s: give %s seconds" % (where, ttl, provider or "rfc2136", allowed))
    return ttl


def desired_record(spec, zone, index, state="present", provider=None):
    """A Record from one item of the module's ``records`` option, validated.

    ``provider`` (rfc2136 or cloudflare) sets the TTL range (TTL_RANGES).
    """
    where = "records[%d]" % index
    if not isinstance(spec, dict):
        raise RecordError("%s: must be a dict with type, name and content" % where)
    rtype = str(spec.get("type") or "").upper()
    if rtype not in SUPPORTED_TYPES:
        raise RecordError("%s.type: %r is not one of %s" % (where, spec.get("type"), ", ".join(SUPPORTED_TYPES)))
    name = absolute_name(spec.get("name"), zone, field=where + ".name")
    content = spec.get("content", spec.get("value"))
    priority = spec.get("priority")
    if rtype == "SRV":
        labels = name.split(".")
        if len(labels) < 3 or not labels[0].startswith("_") or not labels[1].startswith("_"):
            raise RecordError("%s.name: %r is not _service._protocol.name (e.g. _sip._tcp), as an SRV record needs "
                              "(RFC 2782)" % (where, spec.get("name")))
        parts = str(content or "").split()
        if len(parts) == 4:  # zone-file form: priority weight port target
            if priority not in (None, "") and str(priority) != parts[0]:
                raise RecordError("%s.priority: %r differs from the priority %s at the start of content %r"
                                  % (where, priority, parts[0], content))
            priority, content = parts[0], " ".join(parts[1:])
    if content in (None, "") and state == "absent":
        normalised = None
    else:
        normalised = normalise_content(rtype, content, field=where + ".content", strict=True)
    ttl = _ttl(spec.get("ttl"), where, provider)
    if rtype in ("MX", "SRV"):
        if priority in (None, "") and normalised is not None:
            raise RecordError("%s.priority: a %s record needs a priority" % (where, rtype))
        if priority not in (None, ""):
            number = validate.as_int(priority)
            if number is None:
                raise RecordError("%s.priority: %r is not a number" % (where, priority))
            if not 0 <= number <= 65535:
                raise RecordError("%s.priority: %d is out of range (0 to 65535)" % (where, number))
            priority = number
        else:
            priority = None
    else:
        priority = None
    purge = spec.get("purge")
    if purge is not None and not isinstance(purge, bool):
        raise RecordError("%s.purge: %r is not a boolean" % (where, purge))
    return Record(name, rtype, normalised, ttl, priority, purge=purge)


def desired_records(specs, zone, state="present", provider=None):
    """The Records of the module's ``records`` option, each validated, then checked together."""
    records = [desired_record(spec, zone, i, state, provider) for i, spec in enumerate(specs or [])]
    seen = {}
    for i, record in enumerate(records):
        if record.content is not None and record.key in seen:
            raise RecordError("records[%d]: the same %s record %s %r is also records[%d]"
                              % (i, record.type, record.name, record.content, seen[record.key]))
        seen[record.key] = i
    first_of_pair = {}
    for i, record in enumerate(records):
        j = first_of_pair.setdefault(record.pair, i)
        if state == "present" and records[j].ttl != record.ttl:
            raise RecordError("records[%d].ttl: %d differs from the %d of records[%d], another %s record at %s; "
                              "the records of one name and type share one TTL (RFC 2181 section 5.2): give both the same"
                              % (i, record.ttl, records[j].ttl, j, record.type, record.name))
    cnames = set(r.name for r in records if r.type == "CNAME")
    for i, record in enumerate(records):
        if record.name in cnames and record.type != "CNAME" and state == "present":
            raise RecordError("records[%d]: %s has a CNAME, so it cannot also have a %s record (RFC 1034 3.6.2)"
                              % (i, record.name, record.type))
    return records


class ConflictError(RecordError):
    """Desired records that cannot coexist with records already in the zone; ``conflicts`` lists them."""

    def __init__(self, msg, conflicts):
        super(ConflictError, self).__init__(msg)
        self.conflicts = conflicts


class Plan(object):
    """What to change: ``add`` (Records), ``update`` ((old, new) pairs), ``delete`` (Records).

    ``extras`` are the deleted values that were second values in a one-of-a-kind slot (a second
    SPF, DMARC, ... value); ``conflicts`` the deleted records that could not coexist with a
    desired one (a CNAME where a TXT goes, or other data where a CNAME goes). Both are also in
    ``delete``; they are listed apart so that the result can report them.
    """

    def __init__(self):
        self.add = []
        self.update = []
        self.delete = []
        self.extras = []
        self.conflicts = []

    @property
    def changed(self):
        return bool(self.add or self.update or self.delete)

    @property
    def size(self):
        return len(self.add) + len(self.update) + len(self.delete)

    def summary(self, zone):
        return {
            "added": [r.as_dict(zone) for r in self.add],
            "changed": [{"before": old.as_dict(zone), "after": new.as_dict(zone)} for old, new in self.update],
            "removed": [r.as_dict(zone) for r in self.delete],
            "extras": [r.as_dict(zone) for r in self.extras],
            "conflicts": [r.as_dict(zone) for r in self.conflicts],
        }


def _describe(record):
    content = record.content if record.content is not None else ""
    if record.priority is not None:
        content = "%s %s" % (record.priority, content)
    return "%s %s %s" % (record.name, record.type, content)


def find_conflicts(desired, current, zone=None):
    """(index of the desired record, [records in the zone it cannot coexist with]) for each conflict.

    A CNAME must be the only data at its name (RFC 1034 3.6.2): a desired A, MX, TXT... at a
    name that has a CNAME in the zone conflicts with that CNAME, and a desired CNAME conflicts
    with every other record at its name. Only names of desired records are looked at.
    """
    found = []
    seen = set()
    for index, record in enumerate(desired):
        if record.content is None:
            continue
        at_name = [r for r in current if r.name == record.name and id(r) not in seen]
        if record.type == "CNAME":
            if zone is not None and record.name == zone:
                raise RecordError("records[%d]: %s is the zone apex, which has SOA and NS records, so it cannot "
                                  "have a CNAME (RFC 1034 3.6.2); publish A/AAAA records there instead"
                                  % (index, record.name))
            clashing = [r for r in at_name if r.type != "CNAME"]
        else:
            clashing = [r for r in at_name if r.type == "CNAME"]
        if clashing:
            seen.update(id(r) for r in clashing)
            found.append((index, clashing))
    return found


def conflict_message(desired, conflicts):
    """The error for on_conflict=fail: each desired record, what it clashes with, and the fix."""
    parts = []
    for index, clashing in conflicts:
        record = desired[index]
        if record.type == "CNAME":
            parts.append("records[%d]: the CNAME %s cannot be added because the zone has other data at that name: %s"
                         % (index, record.name, "; ".join(_describe(r) for r in clashing)))
        else:
            parts.append("records[%d]: the %s record at %s cannot be published because the zone has a CNAME there (%s)"
                         ", and a resolver follows the CNAME instead of reading the %s record"
                         % (index, record.type, record.name, "; ".join(_describe(r) for r in clashing), record.type))
    return ("%s (a CNAME must be the only record at its name, RFC 1034 3.6.2). Nothing was changed. Fix: remove the "
            "conflicting record(s) from the zone, or set on_conflict: replace to remove them in the same write"
            % " / ".join(parts))


def plan_changes(desired, current, state="present", purge=False, on_conflict="fail", zone=None):
    """The changes that make ``current`` match ``desired`` at the managed (name, type) pairs.

    ``current`` holds every record at the managed names (not only at the managed pairs), so that
    records that conflict with a desired CNAME, or a CNAME that hides a desired record, are seen.
    With ``on_conflict="fail"`` such a conflict raises ConflictError before anything is planned;
    with ``"replace"`` the conflicting records are deleted in the same write.

    A slot (SPF, DMARC, DKIM, MTA-STS, TLS-RPT, CNAME) holds exactly one value after the run:
    existing values in the slot of a desired value are replaced or, when surplus, removed and
    listed in ``plan.extras``. Other values at the pair stay unless purge is set.
    """
    plan = Plan()
    by_pair = {}
    for record in current:
        by_pair.setdefault(record.pair, []).append(record)
    pairs = []
    for record in desired:
        if record.pair not in pairs:
            pairs.append(record.pair)

    if state == "present":
        for pair in pairs:
            slots = [r.slot for r in desired if r.pair == pair and r.slot]
            for slot in set(slots):
                if slots.count(slot) > 1:
                    indexes = [i for i, r in enumerate(desired) if r.pair == pair and r.slot == slot]
                    raise RecordError("records[%d]: %s can hold one %s value, and records %s all put one there"
                                      % (indexes[1], pair[0], slot, ", ".join("[%d]" % i for i in indexes)))
        conflicts = find_conflicts(desired, current, zone)
        if conflicts and on_conflict != "replace":
            raise ConflictError(conflict_message(desired, conflicts), [r for _i, rs in conflicts for r in rs])
        for _index, clashing in conflicts:
            plan.conflicts.extend(clashing)
            plan.delete.extend(clashing)

    for pair in pairs:
        wanted = [r for r in desired if r.pair == pair]
        existing = list(by_pair.get(pair, []))
        own = [r.purge for r in wanted if r.purge is not None]
        purge_pair = any(own) if own else purge
        if state == "absent":
            if any(r.content is None for r in wanted):
                plan.delete.extend(existing)
            else:
                keys = set(r.key for r in wanted)
                plan.delete.extend(r for r in existing if r.key in keys)
            continue
        wanted_slots = set(r.slot for r in wanted if r.slot)
        unmatched = []
        for record in wanted:
            match = next((r for r in existing if r.key == record.key), None)
            if match is None:
                unmatched.append(record)
                continue
            existing.remove(match)
            if match.ttl != record.ttl or match.proxied:
                plan.update.append((match, Record(record.name, record.type, record.content, record.ttl,
                                                  record.priority, match.id)))
        for record in unmatched:
            # a value in the same slot is replaced in place; with purge, any value not in a wanted slot
            old = next((r for r in existing if r.slot and r.slot == record.slot), None)
            if old is None and purge_pair:
                old = next((r for r in existing if not r.slot or r.slot not in wanted_slots), None)
            if old is None:
                plan.add.append(record)
                continue
            existing.remove(old)
            plan.update.append((old, Record(record.name, record.type, record.content, record.ttl,
                                            record.priority, old.id)))
        # what is left: surplus values of a wanted slot always go; the rest only with purge
        extras = [r for r in existing if r.slot and r.slot in wanted_slots]
        plan.extras.extend(extras)
        plan.delete.extend(extras)
        if purge_pair:
            plan.delete.extend(r for r in existing if not (r.slot and r.slot in wanted_slots))
    return plan


def rrsets_after(current, plan):
    """The records at every changed (name, type) pair once the plan is applied."""
    touched = set(r.pair for r in plan.add + plan.delete) | set(new.pair for _old, new in plan.update)
    removed = set(id(r) for r in plan.delete) | set(id(old) for old, _new in plan.update)
    after = {}
    for pair in touched:
        after[pair] = [r for r in current if r.pair == pair and id(r) not in removed]
    for record in plan.add:
        after[record.pair].append(record)
    for _old, new in plan.update:
        after[new.pair].append(new)
    return after


def diff_text(records, zone):
    """Zone-file-like lines for a diff: one record per line, sorted."""
    lines = []
    for record in sorted(records, key=lambda r: (r.name, r.type, r.priority or 0, r.content or "")):
        content = record.content or ""
        if record.type == "TXT":
            content = '"%s"' % content.replace('"', '\\"')
        elif record.type in HOST_TYPES:
            content = content + "."
        if record.priority is not None:
            content = "%d %s" % (record.priority, content)
        lines.append("%s %d IN %s %s" % (relative_name(record.name, zone), record.ttl, record.type, content))
    return "\n".join(lines) + ("\n" if lines else "")
