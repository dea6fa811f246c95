# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS blocklists (RFC 5782): the default lists, each with its own documented return codes, and a checker.

* ``DEFAULT_LISTS``: the lists ``coldrig.infra.dnsbl_check`` asks unless told otherwise. Every list
  carries the table of answers its operator documents, with the page it comes from; an answer is read
  with that table only (``interpret``), because the same address means different things on different
  lists: 127.0.0.1 is "query refused" on URIBL, 127.255.255.254 "public resolver" on Spamhaus,
  127.0.0.18 "good reputation" on Mailspike's reputation zone.
* ``check``: asks every (target, list) pair at once with dnspython's asyncio resolver, with bounded
  concurrency, a per-query timeout and an overall deadline, and gives one row per pair.

A "could not check" answer (the list refused to answer this resolver) is an ``error`` with the reason
``CANNOT_CHECK``, never ``listed`` and never ``clean``; so is an answer outside the list's table.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import time
import traceback

try:
    import asyncio

    import dns.asyncresolver
    import dns.exception
    import dns.nameserver
    import dns.resolver
    HAS_DNSPYTHON = True
    DNSPYTHON_IMPORT_ERROR = None
except ImportError:
    HAS_DNSPYTHON = False
    DNSPYTHON_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.coldrig.infra.plugins.module_utils import validate
from ansible_collections.coldrig.infra.plugins.module_utils.mail_auth import server_label

LISTED, CLEAN, UNCHECKED, ERROR = "listed", "clean", "unchecked", "error"
# What one documented answer means: a listing, not a listing (a reputation zone's good levels), the list
# refusing to answer this resolver (could not check), or another error the list reports (a wrong query).
OUTCOMES = (LISTED, CLEAN, UNCHECKED, ERROR)
STATUSES = (LISTED, CLEAN, ERROR)
KINDS = ("ip", "domain")
CANNOT_CHECK = "could not check: use your own resolver or a data query service key"
SPAMHAUS_PUBLIC = ".spamhaus.org"
SPAMHAUS_DQS = "dq.spamhaus.net"


def _codes(outcome, table):
    return [dict(code=code, status=outcome, meaning=meaning) for code, meaning in table]


# Spamhaus's public mirrors answer these to a query they will not serve, on every zone.
# https://www.spamhaus.com/resource-center/help-for-spamhaus-projects-legacy-blocklist-users
# https://www.spamhaus.org/returnc/vol/ (127.255.255.255: excess volume from this resolver)
# 127.255.255.252 (typing error in the DNSBL name): Spamhaus's return-code table, as cited in
# https://github.com/mail-in-a-box/mailinabox/pull/2332
_SPAMHAUS_REFUSALS = _codes(UNCHECKED, [
    ("127.255.255.252", "typing error in the DNSBL name"),
    ("127.255.255.254", "query through a public or open resolver, or one without attributable reverse DNS"),
    ("127.255.255.255", "excessive number of queries from this resolver"),
])

DEFAULT_LISTS = [
    # ------------------------------------------------------------------ IP lists
    dict(name="spamhaus-zen", zone="zen.spamhaus.org", kind="ip", dqs=True,
         # https://docs.spamhaus.com/datasets/docs/source/10-data-type-documentation/datasets/040-zones.html
         source="https://docs.spamhaus.com/datasets/docs/source/10-data-type-documentation/datasets/040-zones.html",
         codes=_codes(LISTED, [
             ("127.0.0.2", "SBL: Spamhaus Block List"),
             ("127.0.0.3", "SBL CSS: automated snowshoe spam listing"),
             ("127.0.0.4", "XBL: exploited or infected host"),
             ("127.0.0.9", "SBL DROP: hijacked or criminal network (always with SBL)"),
             ("127.0.0.10", "PBL: range the ISP says should not send mail directly"),
             ("127.0.0.11", "PBL: range Spamhaus says should not send mail directly"),
             ("127.0.0.30", "BCL: botnet controller"),
         ]) + _SPAMHAUS_REFUSALS),
    dict(name="spamcop", zone="bl.spamcop.net", kind="ip",
         # http://spamcop.net/bl.shtml (the SCBL); a listed address answers 127.0.0.2
         # (https://docs.kumomta.com/reference/kumo.dns/rbl_lookup, "Querying SpamCop")
         source="http://spamcop.net/bl.shtml",
         codes=_codes(LISTED, [("127.0.0.2", "SpamCop Blocking List: address sent mail reported as spam")])),
    dict(name="barracuda", zone="b.barracudacentral.org", kind="ip",
         # http://www.barracudacentral.org/rbl/how-to-use: 2.0.0.127.b.barracudacentral.org has address 127.0.0.2
         # (Barracuda asks users to register the resolver's address first.)
         source="http://www.barracudacentral.org/rbl/how-to-use",
         codes=_codes(LISTED, [("127.0.0.2", "Barracuda Reputation Block List")])),
    dict(name="psbl", zone="psbl.surriel.com", kind="ip",
         # http://psbl.surriel.com/howto/ ; single tier, listed addresses answer 127.0.0.2
         # (https://domaincare.io/blacklists/psbl)
         source="http://psbl.surriel.com/howto/",
         codes=_codes(LISTED, [("127.0.0.2", "Passive Spam Block List: address sent mail to a spam trap")])),
    dict(name="mailspike-bl", zone="bl.mailspike.net", kind="ip",
         # https://mailspike.org/usage.html: bl = z.mailspike.net (127.0.0.2) plus rep levels L3 to L5
         source="https://mailspike.org/usage.html",
         codes=_codes(LISTED, [
             ("127.0.0.2", "Mailspike Z: part of a distributed spam wave"),
             ("127.0.0.10", "Mailspike L5: worst possible reputation"),
             ("127.0.0.11", "Mailspike L4: very bad reputation"),
             ("127.0.0.12", "Mailspike L3: bad reputation"),
         ])),
    dict(name="mailspike-rep", zone="rep.mailspike.net", kind="ip",
         # https://mailspike.org/usage.html (rep.mailspike.net: one reputation level per address; Mailspike's
         # own block zone, bl.mailspike.net, holds L3 to L5 only) and the level table of
         # https://www.suped.com/learn/blocklists/mailspike-reputation: L5 127.0.0.10 ... H5 127.0.0.20
         source="https://mailspike.org/usage.html",
         codes=_codes(LISTED, [
             ("127.0.0.10", "Mailspike L5: worst possible reputation"),
             ("127.0.0.11", "Mailspike L4: very bad reputation"),
             ("127.0.0.12", "Mailspike L3: bad reputation"),
         ]) + _codes(CLEAN, [
             ("127.0.0.13", "Mailspike L2: suspicious behaviour (not a listing)"),
             ("127.0.0.14", "Mailspike L1: neutral, probably spam (not a listing)"),
             ("127.0.0.15", "Mailspike H0: neutral"),
             ("127.0.0.16", "Mailspike H1: neutral, probably legitimate"),
             ("127.0.0.17", "Mailspike H2: possible legitimate sender"),
             ("127.0.0.18", "Mailspike H3: good reputation"),
             ("127.0.0.19", "Mailspike H4: very good reputation"),
             ("127.0.0.20", "Mailspike H5: excellent reputation"),
         ])),
    dict(name="uceprotect-1", zone="dnsbl-1.uceprotect.net", kind="ip",
         # UCEPROTECT level 1 (http://www.uceprotect.net/) lists single addresses seen at its traps
         # (https://docs.inboxally.com/en_US/blocklists/uceprotectl1) and answers the RFC 5782 code 127.0.0.2.
         # UCEPROTECT's own page with the code was not in the reference store: any other answer is reported as
         # an unexpected code (error), never as listed.
         source="http://www.uceprotect.net/",
         codes=_codes(LISTED, [("127.0.0.2", "UCEPROTECT level 1: this address sent spam to its traps")])),
    dict(name="blocklist-de", zone="bl.blocklist.de", kind="ip",
         # http://blocklist.de/de/rbldns.html: one code per attacked service
         source="http://blocklist.de/de/rbldns.html",
         codes=_codes(LISTED, [
             ("127.0.0.2", "blocklist.de: amavis"), ("127.0.0.3", "blocklist.de: apacheddos"),
             ("127.0.0.4", "blocklist.de: asterisk"), ("127.0.0.5", "blocklist.de: badbot"),
             ("127.0.0.6", "blocklist.de: ftp"), ("127.0.0.7", "blocklist.de: imap"),
             ("127.0.0.8", "blocklist.de: ircbot"), ("127.0.0.9", "blocklist.de: mail"),
             ("127.0.0.10", "blocklist.de: pop3"), ("127.0.0.11", "blocklist.de: regbot"),
             ("127.0.0.12", "blocklist.de: rfi-attack"), ("127.0.0.13", "blocklist.de: sasl"),
             ("127.0.0.14", "blocklist.de: ssh"), ("127.0.0.15", "blocklist.de: w00tw00t"),
             ("127.0.0.16", "blocklist.de: portflood"), ("127.0.0.17", "blocklist.de: sql-injection"),
             ("127.0.0.18", "blocklist.de: webmin"), ("127.0.0.19", "blocklist.de: trigger-spam"),
             ("127.0.0.20", "blocklist.de: manual"), ("127.0.0.21", "blocklist.de: bruteforcelogin"),
             ("127.0.0.22", "blocklist.de: mysql"),
         ])),
    dict(name="nordspam-bl", zone="bl.nordspam.com", kind="ip",
         # https://nordspam.com/usage: IPv4 and IPv6, positive response 127.0.0.2, TXT with details
         source="https://nordspam.com/usage",
         codes=_codes(LISTED, [("127.0.0.2", "NordSpam IP blacklist")])),
    dict(name="sem-black", zone="bl.spameatingmonkey.net", kind="ip",
         # http://spameatingmonkey.com/lists.html (SEM-BLACK); FAQ: 127.0.0.2 always answers positive;
         # positive response 127.0.0.2 (https://www.suped.com/blocklists/spam-eating-monkey-sem-black)
         source="http://spameatingmonkey.com/lists.html",
         codes=_codes(LISTED, [("127.0.0.2", "Spam Eating Monkey SEM-BLACK: spam trap hits or policy listing")])),
    # -------------------------------------------------------------- domain lists
    dict(name="spamhaus-dbl", zone="dbl.spamhaus.org", kind="domain", dqs=True,
         # https://docs.spamhaus.com/datasets/docs/source/10-data-type-documentation/datasets/040-zones.html
         source="https://docs.spamhaus.com/datasets/docs/source/10-data-type-documentation/datasets/040-zones.html",
         codes=_codes(LISTED, [
             ("127.0.1.2", "DBL: low-reputation domain"),
             ("127.0.1.4", "DBL: phishing domain"),
             ("127.0.1.5", "DBL: malware domain"),
             ("127.0.1.6", "DBL: botnet command and control domain"),
             ("127.0.1.102", "DBL: abused legitimate domain"),
             ("127.0.1.103", "DBL: abused redirector"),
             ("127.0.1.104", "DBL: abused domain used in phishing"),
             ("127.0.1.105", "DBL: abused domain used by malware"),
             ("127.0.1.106", "DBL: abused domain hosting command and control"),
         ]) + _codes(ERROR, [("127.0.1.255", "DBL: IP queries are not allowed on a domain list")])
         + _SPAMHAUS_REFUSALS),
    dict(name="surbl", zone="multi.surbl.org", kind="domain",
         # https://www.surbl.org/lists: bitmasked last octet, 8 PH, 16 MW, 64 ABUSE, 128 CR, other octets reserved
         # (text as copied at https://pipelinedata.tilda.ws/surbl). 127.0.0.1 is SURBL's "blocked" answer
         # (SpamAssassin's SURBL_BLOCKED, http://wiki.apache.org/spamassassin/DnsBlocklists#dnsbl-block)
         source="https://www.surbl.org/lists",
         codes=_codes(UNCHECKED, [("127.0.0.1", "SURBL blocked this query (public resolver or excessive use)")]),
         bits=[dict(bit=8, meaning="SURBL PH: phishing"), dict(bit=16, meaning="SURBL MW: malware"),
               dict(bit=64, meaning="SURBL ABUSE: spam and abuse"), dict(bit=128, meaning="SURBL CR: cracked site")]),
    dict(name="uribl", zone="multi.uribl.com", kind="domain",
         # https://uribl.com/refused.shtml: "All queries that we refuse, we return a 127.0.0.1 response to";
         # bitmask 2 black, 4 grey, 8 red (http://www.uribl.com/about.shtml, https://rspamd.com/doc/modules/surbl.html)
         source="https://uribl.com/refused.shtml",
         codes=_codes(UNCHECKED, [("127.0.0.1", "URIBL refused this query (public or high-volume resolver)")]),
         bits=[dict(bit=2, meaning="URIBL black"), dict(bit=4, meaning="URIBL grey"), dict(bit=8, meaning="URIBL red")]),
    dict(name="nordspam-dbl", zone="dbl.nordspam.com", kind="domain",
         # https://nordspam.com/usage: domain blacklist, positive response 127.0.0.2
         source="https://nordspam.com/usage",
         codes=_codes(LISTED, [("127.0.0.2", "NordSpam domain blacklist")])),
    dict(name="sem-uri", zone="uribl.spameatingmonkey.net", kind="domain",
         # http://spameatingmonkey.com/lists.html (SEM-URI); positive response 127.0.0.2
         # (https://www.suped.com/learn/blocklists/spam-eating-monkey-sem-uri)
         source="http://spameatingmonkey.com/lists.html",
         codes=_codes(LISTED, [("127.0.0.2", "Spam Eating Monkey SEM-URI: domain seen in spam trap mail")])),
]


class ListError(ValueError):
    """A list definition that cannot be used; the text names the field, the value and the fix."""


# ------------------------------------------------------------------------------------------- lists
def normalise_list(entry, field):
    """A list definition (as in DEFAULT_LISTS or the module's ``lists`` option) checked and indexed.

    Returns a dict with ``codes`` as {code: (outcome, meaning)} and ``bits`` as {bit: meaning}.
    """
    try:
        zone = validate.check_dns_name(entry.get("zone"), field + ".zone", wildcard=False)
    except validate.ValidationError as exc:
        raise ListError(str(exc))
    kind = entry.get("kind")
    if kind not in KINDS:
        raise ListError("%s.kind: %r is not one of ip, domain" % (field, kind))
    codes = {}
    for index, code in enumerate(entry.get("codes") or []):
        where = "%s.codes[%d]" % (field, index)
        value = str(code.get("code") or "").strip()
        if validate.ipv4_problem(value):
            raise ListError("%s.code: %r is not an IPv4 address such as 127.0.0.2" % (where, value))
        outcome = code.get("status") or LISTED
        if outcome not in OUTCOMES:
            raise ListError("%s.status: %r is not one of %s" % (where, outcome, ", ".join(OUTCOMES)))
        codes[value] = (outcome, code.get("meaning") or ("listed" if outcome == LISTED else outcome))
    bits = {}
    for index, bit in enumerate(entry.get("bits") or []):
        number = validate.as_int(bit.get("bit"))
        if number is None or number < 1 or number > 255 or number & (number - 1):
            raise ListError("%s.bits[%d].bit: %r is not a single bit of the last octet (1, 2, 4, ... 128)"
                            % (field, index, bit.get("bit")))
        bits[number] = bit.get("meaning") or "bit %d" % number
    if not codes and not bits:
        raise ListError("%s: give the list's return codes (codes, or bits for a bitmasked list) from its documentation"
                        % field)
    dqs = bool(entry.get("dqs"))
    if dqs and not zone.endswith(SPAMHAUS_PUBLIC):
        raise ListError("%s.dqs: %s is not a Spamhaus zone (*.spamhaus.org); only those have a DQS form" % (field, zone))
    return dict(name=entry.get("name") or zone, zone=zone, kind=kind, codes=codes, bits=bits, dqs=dqs,
                resolvers=list(entry.get("resolvers") or []), source=entry.get("source"))


def select_lists(extra=None, use_defaults=True, exclude=None):
    """The lists to ask: the defaults (unless ``use_defaults`` is false) without ``exclude`` (names or zones),
    then ``extra``, where an extra list with a default's name or zone replaces that default in place."""
    chosen = []
    if use_defaults:
        for index, entry in enumerate(DEFAULT_LISTS):
            chosen.append(normalise_list(entry, "DEFAULT_LISTS[%d]" % index))
    excluded = set(item.strip().lower() for item in (exclude or []))
    unknown = excluded - set(x["name"] for x in chosen) - set(x["zone"] for x in chosen)
    if unknown:
        raise ListError("exclude_lists: %s %s not among the lists to check (%s)" % (
            ", ".join(sorted(unknown)), "is" if len(unknown) == 1 else "are", ", ".join(x["name"] for x in chosen)))
    chosen = [x for x in chosen if x["name"] not in excluded and x["zone"] not in excluded]
    for index, entry in enumerate(extra or []):
        item = normalise_list(entry, "lists[%d]" % index)
        for position, present in enumerate(chosen):
            if present["name"] == item["name"] or present["zone"] == item["zone"]:
                chosen[position] = item
                break
        else:
            chosen.append(item)
    names = [x["name"] for x in chosen]
    if len(set(names)) != len(names):
        raise ListError("lists: the name %r is used twice; give each list its own name"
                        % next(n for n in names if names.count(n) > 1))
    return chosen


# --------------------------------------------------------------------------------- interpretation
def _ip_key(code):
    try:
        return (0, int(ipaddress.IPv4Address(code)))
    except ValueError:
        return (1, 0)


def _bits_meaning(bits, code):
    """The meanings of a bitmasked answer (127.x.x.N, N made only of declared bits), or None."""
    try:
        octets = [int(part) for part in ipaddress.IPv4Address(code).exploded.split(".")]
    except ValueError:
        return None
    last = octets[3]
    if octets[0] != 127 or not last or last & ~sum(bits):
        return None
    return ", ".join(bits[bit] for bit in sorted(bits) if last & bit)


def interpret(dnsbl, answers):
    """What the A records ``answers`` (addresses as text) of one query mean on the list ``dnsbl``.

    Returns (status, codes, meanings, reason): status is listed, clean or error; reason says why for an error.
    No answer (NXDOMAIN, or no A record) is clean.
    """
    codes = sorted(set(answers), key=_ip_key)
    outcomes, meanings, unexpected = [], [], []
    for code in codes:
        if code in dnsbl["codes"]:
            outcome, meaning = dnsbl["codes"][code]
        elif dnsbl["bits"] and _bits_meaning(dnsbl["bits"], code):
            outcome, meaning = LISTED, _bits_meaning(dnsbl["bits"], code)
        else:
            unexpected.append(code)
            continue
        outcomes.append(outcome)
        meanings.append("%s %s" % (code, meaning))
    refused = [m for m, o in zip(meanings, outcomes) if o == UNCHECKED]
    if refused:
        return ERROR, codes, meanings, "%s (%s)" % (CANNOT_CHECK, "; ".join(refused))
    errors = [m for m, o in zip(meanings, outcomes) if o == ERROR]
    if errors:
        return ERROR, codes, meanings, "the list answered an error code: %s" % "; ".join(errors)
    if unexpected:
        return ERROR, codes, meanings, ("unexpected answer %s: not among the codes documented for %s; "
                                        "neither listed nor clean" % (", ".join(unexpected), dnsbl["zone"]))
    if LISTED in outcomes:
        return LISTED, codes, meanings, None
    return CLEAN, codes, meanings, None


# ------------------------------------------------------------------------------------------ queries
def reverse_ip(address):
    """The RFC 5782 form of an address: reversed octets for IPv4, reversed nibbles for IPv6."""
    parsed = ipaddress.ip_address(address)
    if parsed.version == 4:
        return ".".join(reversed(str(parsed).split(".")))
    return ".".join(reversed(parsed.exploded.replace(":", "")))


def dqs_zone(zone, key):
    """``<key>.<name>.dq.spamhaus.net`` for ``<name>.spamhaus.org`` (Spamhaus DQS, "DQS Requests")."""
    return "%s.%s.%s" % (key, zone[:-len(SPAMHAUS_PUBLIC)], SPAMHAUS_DQS)


def query_name(target, dnsbl, dqs_key=None):
    zone = dqs_zone(dnsbl["zone"], dqs_key) if dqs_key and dnsbl["dqs"] else dnsbl["zone"]
    item = reverse_ip(target) if dnsbl["kind"] == "ip" else target
    return "%s.%s." % (item, zone)


def _servers_said(exc):
    """What each server answered, from a dnspython NoNameservers.

    Like mail_auth's, but an exception is named by its type only: its text may hold the query name,
    which holds the DQS key.
    """
    said = []
    for error in (getattr(exc, "kwargs", None) or {}).get("errors", []):
        server, port, problem = str(error[0]), error[2], error[3]
        address = server.split(":", 1)[1].rsplit("@", 1)[0] if server.startswith("Do53:") else server
        problem = type(problem).__name__ if isinstance(problem, Exception) else str(problem)
        said.append("%s answered %s" % (server_label((address, port)), problem))
    return "; ".join(said) or "no server gave a usable answer"


class Checker(object):
    """Ask many (target, list) pairs concurrently; one row per pair."""

    def __init__(self, servers, timeout=5.0, concurrency=20, deadline=60.0, dqs_key=None):
        """servers: [(address, port)] for every list without its own; empty means the system resolver."""
        self.servers = list(servers or [])
        self.timeout = float(timeout)
        self.concurrency = int(concurrency)
        self.deadline = float(deadline)
        self.dqs_key = dqs_key
        self._resolvers = {}

    def _scrub(self, text):
        return text.replace(self.dqs_key, "<dqs key>") if self.dqs_key and text else text

    def _resolver(self, servers):
        key = tuple(servers)
        if key not in self._resolvers:
            if servers:
                resolver = dns.asyncresolver.Resolver(configure=False)
                resolver.nameservers = [dns.nameserver.Do53Nameserver(address, port) for address, port in servers]
            else:
                try:
                    resolver = dns.asyncresolver.Resolver()
                except dns.resolver.NoResolverConfiguration as exc:
                    raise ListError("resolvers: none given and the system has no resolver configured (%s); "
                                    "give resolvers: [host or host:port]" % exc)
            resolver.timeout = self.timeout
            resolver.lifetime = self.timeout
            resolver.cache = None
            self._resolvers[key] = resolver
        return self._resolvers[key]

    def where(self, servers):
        return ", ".join(server_label(s) for s in servers) if servers else "the system resolver"

    async def _lookup(self, resolver, servers, name, rtype):
        """(records, error): records [] for NXDOMAIN / no data; error text when no usable answer."""
        try:
            answer = await resolver.resolve(name, rtype, search=False, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return [], None
        except dns.resolver.LifetimeTimeout:
            return None, "no answer from %s within %g s" % (self.where(servers), self.timeout)
        except dns.resolver.NoNameservers as exc:
            return None, "no usable answer: %s" % _servers_said(exc)
        except dns.exception.DNSException as exc:
            return None, "%s from %s" % (type(exc).__name__, self.where(servers))
        return (list(answer.rrset) if answer.rrset is not None else []), None

    async def _one(self, semaphore, target, dnsbl, row):
        servers = dnsbl["servers"] if dnsbl.get("servers") else self.servers
        resolver = self._resolver(servers)
        name = query_name(target, dnsbl, self.dqs_key)
        async with semaphore:
            start = time.monotonic()
            records, error = await self._lookup(resolver, servers, name, "A")
            if error:
                row.update(status=ERROR, error=self._scrub(error))
            else:
                status, codes, meanings, reason = interpret(dnsbl, [r.address for r in records])
                row.update(status=status, codes=codes, meaning=meanings, error=reason)
                if status == LISTED:
                    texts, txt_error = await self._lookup(resolver, servers, name, "TXT")
                    row["txt"] = [self._scrub(b"".join(r.strings).decode("utf-8", "replace")) for r in texts or []]
                    if txt_error:
                        row["txt_error"] = self._scrub(txt_error)
            row["elapsed_ms"] = int(round((time.monotonic() - start) * 1000))

    async def _run(self, jobs, rows):
        semaphore = asyncio.Semaphore(self.concurrency)
        tasks = [asyncio.ensure_future(self._one(semaphore, target, dnsbl, row))
                 for (target, dnsbl), row in zip(jobs, rows)]
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=self.deadline)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()

    def check(self, jobs):
        """jobs: [(target, list)] -> rows, in the same order."""
        rows = []
        for _target, dnsbl in jobs:  # every resolver made before the first query: a bad setting fails early
            self._resolver(dnsbl["servers"] if dnsbl.get("servers") else self.servers)
        for target, dnsbl in jobs:
            rows.append(dict(target=target, kind=dnsbl["kind"], list=dnsbl["name"], zone=dnsbl["zone"],
                             status=None, codes=[], meaning=[], txt=[], error=None, elapsed_ms=None))
        asyncio.run(self._run(jobs, rows))
        for row in rows:
            if row["status"] is None:
                row.update(status=ERROR, error="not answered within the overall deadline of %g s" % self.deadline)
        return rows


def jobs_for(addresses, domains, lists):
    """Every (target, list) pair to ask: each address on each IP list, each domain on each domain list."""
    jobs = []
    for address in addresses:
        jobs.extend((address, dnsbl) for dnsbl in lists if dnsbl["kind"] == "ip")
    for domain in domains:
        jobs.extend((domain, dnsbl) for dnsbl in lists if dnsbl["kind"] == "domain")
    return jobs


def summary(rows, targets, lists):
    counts = dict((status, sum(1 for row in rows if row["status"] == status)) for status in STATUSES)
    return dict(targets=targets, lists=lists, queries=len(rows), **counts)


def table(rows):
    """A plain-text table of the rows (listed and error first), for messages and reports."""
    order = {LISTED: 0, ERROR: 1, CLEAN: 2}
    ordered = sorted(rows, key=lambda r: order[r["status"]])
    lines = [("TARGET", "LIST", "STATUS", "CODE", "DETAIL")]
    for row in ordered:
        detail = row["error"] or "; ".join(row.get("txt") or []) or "; ".join(row["meaning"])
        lines.append((row["target"], row["list"], row["status"], ",".join(row["codes"]) or "-", detail or ""))
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line[:4], widths)) + "  " + line[4]
                     for line in lines)
