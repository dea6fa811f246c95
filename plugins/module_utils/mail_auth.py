# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a receiving mail server judges one message: DKIM, SPF, DMARC, PTR and HELO.

Every DNS lookup goes through one :class:`DnsClient`, which asks the servers it is given
(``host[:port]``, e.g. the lab's Knot DNS server on ``127.0.0.1:10053``) or the system resolver:

* DKIM: dkimpy verifies each ``DKIM-Signature`` with the client as its ``dnsfunc``;
* SPF: pyspf evaluates the sender's policy with the client answering its lookups;
* DMARC: the policy record is found and parsed here (RFC 7489 section 6.6.3 and 6.4), and
  identifier alignment is computed against organizational domains from the Public Suffix
  List (publicsuffixlist ships its own copy of the list, so nothing is downloaded);
* PTR = HELO: the reverse name of each public address, forward-confirmed, against the
  names the node's MTA announces.

Nothing here opens an SMTP or IMAP connection (that is ``mail_probe``), so all of it is
tested without a network.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import logging
import re
import socket
import threading
import traceback

from ansible_collections.coldrig.infra.plugins.module_utils.host_port import parse_host_port

try:
    import dns.exception
    import dns.name
    import dns.nameserver
    import dns.rdatatype
    import dns.resolver
    import dns.reversename
    HAS_DNSPYTHON = True
    DNSPYTHON_IMPORT_ERROR = None
except ImportError:
    HAS_DNSPYTHON = False
    DNSPYTHON_IMPORT_ERROR = traceback.format_exc()

try:
    import dkim
    HAS_DKIMPY = True
    DKIMPY_IMPORT_ERROR = None
except ImportError:
    HAS_DKIMPY = False
    DKIMPY_IMPORT_ERROR = traceback.format_exc()

try:
    import spf
    HAS_PYSPF = True
    PYSPF_IMPORT_ERROR = None
except ImportError:
    HAS_PYSPF = False
    PYSPF_IMPORT_ERROR = traceback.format_exc()

try:
    from publicsuffixlist import PublicSuffixList
    HAS_PUBLICSUFFIXLIST = True
    PUBLICSUFFIXLIST_IMPORT_ERROR = None
except ImportError:
    HAS_PUBLICSUFFIXLIST = False
    PUBLICSUFFIXLIST_IMPORT_ERROR = traceback.format_exc()

CHECKS = ("tls", "dkim", "spf", "dmarc", "ptr_helo")
RESULTS = ("pass", "fail", "skip")
DMARC_POLICIES = ("none", "quarantine", "reject")
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_TAG_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_URI = re.compile(r"^[a-z][a-z0-9+.-]*:[^\s,!]+(![0-9]+[kmgt]?)?$", re.IGNORECASE)
_DMARC_START = re.compile(r"^v\s*=\s*DMARC1\s*(;|$)")


def missing_libraries():
    """(name, traceback) of each library this file needs that cannot be imported."""
    missing = []
    for name, present, error in (("dnspython", HAS_DNSPYTHON, DNSPYTHON_IMPORT_ERROR),
                                 ("dkimpy", HAS_DKIMPY, DKIMPY_IMPORT_ERROR),
                                 ("pyspf", HAS_PYSPF, PYSPF_IMPORT_ERROR),
                                 ("publicsuffixlist", HAS_PUBLICSUFFIXLIST, PUBLICSUFFIXLIST_IMPORT_ERROR)):
        if not present:
            missing.append((name, error))
    return missing


class DnsError(Exception):
    """A lookup that got no usable answer (timeout, SERVFAIL, REFUSED); the message names the query and the servers."""


class DmarcError(ValueError):
    """A DMARC record that a receiver would not apply; the message names the tag and the reason."""


# ---------------------------------------------------------------------------------------------- names
def normalise_host(name):
    """A host or domain name in lower case without the trailing dot."""
    return (name or "").strip().rstrip(".").lower()


def valid_host(name):
    name = normalise_host(name)
    return bool(name) and len(name) <= 253 and "." in name and all(_LABEL.match(label) for label in name.split("."))


def email_domain(address):
    """The domain of an address (``user@example.com`` -> ``example.com``); "" without an @."""
    _local, sep, domain = (address or "").strip().rpartition("@")
    return normalise_host(domain) if sep else ""


def valid_email(address):
    local, sep, domain = (address or "").strip().rpartition("@")
    return bool(sep and local and " " not in local and valid_host(domain))


_PSL = []
_PSL_LOCK = threading.Lock()


def organizational_domain(domain):
    """The organizational domain of RFC 7489 section 3.2: the public suffix plus one label.

    ``mail.example.co.uk`` -> ``example.co.uk``; a name that is itself a public suffix is its own.
    """
    domain = normalise_host(domain)
    with _PSL_LOCK:
        if not _PSL:
            _PSL.append(PublicSuffixList())
    return _PSL[0].privatesuffix(domain) or domain


def aligned(identifier, from_domain, mode):
    """Whether an authenticated domain aligns with the From domain: ``s`` (strict) or ``r`` (relaxed)."""
    identifier, from_domain = normalise_host(identifier), normalise_host(from_domain)
    if not identifier or not from_domain:
        return False
    if mode == "s":
        return identifier == from_domain
    return organizational_domain(identifier) == organizational_domain(from_domain)


# ---------------------------------------------------------------------------------------------- DNS
def resolve_servers(entries, field="dns_servers", default_port=53):
    """(address, port) for each ``host[:port]``; host names are resolved once, with the system resolver."""
    targets = []
    for index, entry in enumerate(entries or []):
        where = "%s[%d]" % (field, index)
        try:
            host, port = parse_host_port(entry, default_port)
        except ValueError as exc:
            raise ValueError("%s: %s" % (where, exc))
        try:
            ipaddress.ip_address(host)
            addresses = [host]
        except ValueError:
            try:
                infos = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)
            except (socket.gaierror, UnicodeError) as exc:
                raise ValueError("%s: cannot resolve %r (%s)" % (where, host, exc))
            addresses = [info[4][0] for info in infos]
        for address in addresses:
            if (address, port) not in targets:
                targets.append((address, port))
    return targets


def server_label(target):
    address, port = target
    return ("[%s]:%d" if ":" in address else "%s:%d") % (address, port)


class DnsClient(object):
    """DNS lookups through the given servers (or the system resolver), for every check of one message.

    The servers are asked with recursion desired, so both a recursive resolver and an authoritative
    server of the zones concerned (as in the lab) answer. Truncated answers are retried over TCP.
    """

    def __init__(self, servers=None, timeout=5.0):
        self.targets = resolve_servers(servers or [])
        self.timeout = float(timeout)
        if self.targets:
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = [dns.nameserver.Do53Nameserver(address, port) for address, port in self.targets]
        else:
            try:
                resolver = dns.resolver.Resolver()
            except dns.resolver.NoResolverConfiguration as exc:
                raise DnsError("dns_servers: none given and the system has no resolver configured (%s)" % exc)
        resolver.use_edns(0, 0, 1232)
        resolver.timeout = self.timeout
        resolver.lifetime = self.timeout
        resolver.cache = None
        self.resolver = resolver
        self.lookups = 0

    def where(self):
        if self.targets:
            return ", ".join(server_label(t) for t in self.targets)
        return "the system resolver"

    def query(self, name, rtype):
        """The rdata of (name, type); [] when the name does not exist or has no such record.

        Raises DnsError when no server gives an answer (timeout, SERVFAIL, REFUSED, ...).
        """
        self.lookups += 1
        qname = normalise_host(str(name)) + "."
        try:
            answer = self.resolver.resolve(qname, rtype, search=False, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return []
        except dns.resolver.LifetimeTimeout:
            raise DnsError("%s %s: no answer from %s within %g s" % (qname.rstrip("."), rtype, self.where(), self.timeout))
        except dns.resolver.NoNameservers as exc:
            raise DnsError("%s %s: no usable answer from %s (%s)" % (qname.rstrip("."), rtype, self.where(), _no_servers(exc)))
        except dns.exception.DNSException as exc:
            raise DnsError("%s %s: %s (asked %s)" % (qname.rstrip("."), rtype, exc, self.where()))
        return list(answer.rrset) if answer.rrset is not None else []

    def txt(self, name):
        """The TXT values at name, each record's strings joined (RFC 7208 3.3, RFC 6376 3.6.2.2)."""
        return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in self.query(name, "TXT")]

    def addresses(self, name, rtype="A"):
        return [rdata.address for rdata in self.query(name, rtype)]

    def ptr(self, address):
        """The names the reverse zone gives for an IPv4 or IPv6 address."""
        reverse = dns.reversename.from_address(address).to_text(omit_final_dot=True)
        return [normalise_host(rdata.target.to_text()) for rdata in self.query(reverse, "PTR")]

    # -- adapters for the verification libraries --------------------------------------------------
    def dkim_txt(self, name, timeout=None):
        """dkimpy's ``dnsfunc``: the key record at name as bytes, None when there is none."""
        if isinstance(name, bytes):
            name = name.decode("ascii", "replace")
        records = [b"".join(rdata.strings) for rdata in self.query(name, "TXT")]
        if not records:
            return None
        keys = [r for r in records if r.replace(b" ", b"").startswith(b"v=DKIM1")]
        return (keys or records)[0]

    def spf_lookup(self, name, qtype, strict=True, timeout=None):
        """pyspf's ``DNSLookup``: [((name, type), value)], values in the shapes pyspf's own dnspython driver gives."""
        try:
            rdatas = self.query(name, qtype)
        except DnsError as exc:
            raise spf.TempError("DNS %s" % exc)
        answers = []
        for rdata in rdatas:
            if qtype in ("A", "AAAA"):
                value = rdata.address
            elif qtype == "MX":
                value = (rdata.preference, rdata.exchange.to_text(omit_final_dot=True))
            elif qtype == "PTR":
                value = rdata.target.to_text(omit_final_dot=True)
            elif qtype in ("TXT", "SPF"):
                value = tuple(rdata.strings)
            else:
                continue
            answers.append(((name, qtype), value))
        return answers


def _no_servers(exc):
    """What each server said, from a dnspython NoNameservers: ``127.0.0.1:10053 answered REFUSED``."""
    said = []
    for error in (getattr(exc, "kwargs", None) or {}).get("errors", []):
        # (server as text, e.g. "Do53:127.0.0.1@10053", over TCP, port, rcode text or exception, response)
        server, port, problem = str(error[0]), error[2], error[3]
        address = server.split(":", 1)[1].rsplit("@", 1)[0] if server.startswith("Do53:") else server
        if isinstance(problem, Exception):
            problem = "%s (%s)" % (type(problem).__name__, problem) if str(problem) else type(problem).__name__
        said.append("%s answered %s" % (server_label((address, port)), problem))
    return "; ".join(said) or str(exc)


# ---------------------------------------------------------------------------------------------- DKIM
class _ListHandler(logging.Handler):
    def __init__(self):
        logging.Handler.__init__(self, logging.DEBUG)
        self.messages = []

    def emit(self, record):
        if record.levelno >= logging.WARNING:
            self.messages.append(record.getMessage())


def _unbytes(text):
    """dkimpy's messages show values as b'...'; the words without the Python syntax."""
    return re.sub(r"\bb'([^']*)'", r"\1", text)


def _signature_tags(value):
    """d= and s= of a DKIM-Signature value, tolerant of folding; {} when it does not parse."""
    tags = {}
    for part in re.sub(r"\s+", "", value).split(";"):
        name, sep, tag_value = part.partition("=")
        if sep and name in ("d", "s", "a"):
            tags[name] = tag_value
    return tags


def verify_dkim(message, client, from_domain, minkey=1024):
    """Verify every DKIM-Signature of a message (bytes) against the keys client finds.

    Returns {result, domain, selector, signatures: [{domain, selector, algorithm, result, error}]}:
    ``pass`` when a signature whose d= lies in the From domain's organizational domain verifies,
    ``fail`` otherwise (also when the only valid signatures belong to other domains), ``none``
    without any signature.
    """
    logger = logging.getLogger("coldrig.mail_auth.dkim")
    logger.propagate = False
    handler = _ListHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        verifier = dkim.DKIM(message, logger=logger, minkey=minkey, timeout=client.timeout)
        headers = [value for name, value in verifier.headers if name.lower() == b"dkim-signature"]
        signatures = []
        for index, value in enumerate(headers):
            tags = _signature_tags(value.decode("ascii", "replace"))
            entry = {"domain": normalise_host(tags.get("d")), "selector": tags.get("s", ""),
                     "algorithm": tags.get("a", ""), "result": "fail", "error": None}
            del handler.messages[:]
            try:
                valid = verifier.verify(idx=index, dnsfunc=client.dkim_txt)
            except DnsError as exc:
                valid, entry["error"] = False, "key lookup failed: %s" % exc
            except dkim.DKIMException as exc:
                valid, entry["error"] = False, _unbytes(str(exc))
            if valid:
                entry["result"] = "pass"
            elif not entry["error"]:
                entry["error"] = _unbytes("; ".join(handler.messages)) or "signature does not verify"
            signatures.append(entry)
    finally:
        logger.removeHandler(handler)
    result = {"result": "none", "domain": None, "selector": None, "signatures": signatures}
    if not signatures:
        return result
    result["result"] = "fail"
    own = [s for s in signatures if aligned(s["domain"], from_domain, "r")]
    chosen = [s for s in own if s["result"] == "pass"] or own or signatures
    result.update(domain=chosen[0]["domain"], selector=chosen[0]["selector"])
    if any(s["result"] == "pass" for s in own):
        result["result"] = "pass"
    return result


def dkim_detail(outcome, from_domain):
    if outcome["result"] == "none":
        return "the message carries no DKIM-Signature"
    parts = []
    for sig in outcome["signatures"]:
        text = "d=%s s=%s %s" % (sig["domain"] or "?", sig["selector"] or "?", sig["result"])
        if sig["error"]:
            text += " (%s)" % sig["error"]
        parts.append(text)
    detail = "; ".join(parts)
    if outcome["result"] == "pass":
        return "%s, key at %s._domainkey.%s" % (detail, outcome["selector"], outcome["domain"])
    if not any(aligned(s["domain"], from_domain, "r") for s in outcome["signatures"]):
        return "%s; no signature by %s" % (detail, from_domain)
    return detail


# ---------------------------------------------------------------------------------------------- SPF
_SPF_LOCK = threading.Lock()


def check_spf(client, ip, sender, helo, querytime=20):
    """pyspf's verdict for MAIL FROM:<sender> from ip after HELO helo, every lookup through client.

    Returns (result, explanation) with result one of pass, fail, softfail, neutral, none,
    permerror, temperror. pyspf reads its DNS function from a module global, so it is swapped
    for the client's for the duration of the check (under a lock).
    """
    with _SPF_LOCK:
        saved = spf.DNSLookup
        spf.DNSLookup = client.spf_lookup
        try:
            query = spf.query(i=ip, s=sender, h=helo, querytime=querytime)
            result, _code, explanation = query.check()
        finally:
            spf.DNSLookup = saved
    return result, explanation


# ---------------------------------------------------------------------------------------------- DMARC
def parse_dmarc(text):
    """Parse one DMARC record strictly (RFC 7489 section 6.3 and 6.4); DmarcError names the tag.

    Returns {tags, policy, subdomain_policy, adkim, aspf, pct, rua, ruf, warnings}. Tag names are
    case-insensitive; unknown tags are ignored (section 6.3) and listed in warnings.
    """
    text = (text or "").strip()
    parts = [part.strip() for part in text.split(";")]
    if parts and parts[-1] == "":
        parts.pop()  # a trailing ';' is allowed
    tags = {}
    order = []
    warnings = []
    for part in parts:
        if not part:
            warnings.append("an empty tag (two ';' in a row) was ignored")
            continue
        name, sep, value = part.partition("=")
        name, value = name.strip().lower(), value.strip()
        if not sep:
            raise DmarcError("%r is not a tag=value pair" % part)
        if not _TAG_NAME.match(name):
            raise DmarcError("%r is not a valid tag name" % name)
        if name in tags:
            raise DmarcError("%s: the tag appears twice" % name)
        tags[name] = value
        order.append(name)
    if not order or order[0] != "v":
        raise DmarcError("v: a DMARC record must start with v=DMARC1, this one starts with %r" % (parts[0] if parts else ""))
    if tags["v"] != "DMARC1":
        raise DmarcError("v: %r is not DMARC1" % tags["v"])
    if "p" not in tags:
        raise DmarcError("p: the policy tag is missing (one of %s)" % ", ".join(DMARC_POLICIES))

    def choice(tag, allowed, default):
        value = tags.get(tag, default).lower()
        if value not in allowed:
            raise DmarcError("%s: %r is not one of %s" % (tag, tags[tag], ", ".join(allowed)))
        return value

    record = {"tags": tags, "warnings": warnings}
    record["policy"] = choice("p", DMARC_POLICIES, "none")
    record["subdomain_policy"] = choice("sp", DMARC_POLICIES, record["policy"])
    choice("np", DMARC_POLICIES, record["subdomain_policy"])
    record["adkim"] = choice("adkim", ("r", "s"), "r")
    record["aspf"] = choice("aspf", ("r", "s"), "r")
    pct = tags.get("pct", "100")
    if not pct.isdigit() or int(pct) > 100:
        raise DmarcError("pct: %r is not a whole number from 0 to 100" % pct)
    record["pct"] = int(pct)
    for option in (tags.get("fo", "0")).split(":"):
        if option.strip().lower() not in ("0", "1", "d", "s"):
            raise DmarcError("fo: %r is not a colon-separated list of 0, 1, d, s" % tags["fo"])
    for value in (tags.get("rf", "afrf")).split(":"):
        if not re.match(r"^[a-z0-9-]+$", value.strip(), re.IGNORECASE):
            raise DmarcError("rf: %r is not a colon-separated list of report formats" % tags["rf"])
    ri = tags.get("ri", "86400")
    if not ri.isdigit():
        raise DmarcError("ri: %r is not a number of seconds" % ri)
    for tag in ("rua", "ruf"):
        uris = [uri.strip() for uri in tags.get(tag, "").split(",")] if tag in tags else []
        for uri in uris:
            if not _URI.match(uri):
                raise DmarcError("%s: %r is not a URI (e.g. mailto:dmarc@example.com)" % (tag, uri))
        record[tag] = uris
    choice("psd", ("y", "n", "u"), "u")
    choice("t", ("y", "n"), "n")
    known = ("v", "p", "sp", "np", "adkim", "aspf", "pct", "fo", "rf", "ri", "rua", "ruf", "psd", "t")
    for name in order:
        if name not in known:
            warnings.append("unknown tag %s was ignored" % name)
    return record


def find_dmarc(client, from_domain):
    """The DMARC record that applies to mail From from_domain (RFC 7489 section 6.6.3).

    Asked at ``_dmarc.<from domain>``, then at ``_dmarc.<organizational domain>``. Returns
    (record text, the domain it was found at), or (None, None). TXT values that do not start
    with v=DMARC1 are not DMARC records and are skipped; two DMARC records are a DmarcError,
    because receivers then apply none.
    """
    domain = normalise_host(from_domain)
    candidates = [domain]
    org = organizational_domain(domain)
    if org != domain:
        candidates.append(org)
    for candidate in candidates:
        name = "_dmarc." + candidate
        records = [value for value in client.txt(name) if _DMARC_START.match(value)]
        if len(records) > 1:
            raise DmarcError("%s has %d DMARC records; receivers apply no DMARC policy then" % (name, len(records)))
        if records:
            return records[0], candidate
    return None, None


def evaluate_dmarc(record, record_domain, from_domain, dkim_domains, spf_result, spf_domain):
    """The DMARC verdict (RFC 7489 section 3.1 and 6.6.2) for a parsed record.

    dkim_domains: the d= of every DKIM signature that verified; spf_result and spf_domain: the SPF
    verdict and the domain of the envelope sender it was evaluated for. Returns {result, policy,
    dkim_aligned, spf_aligned, adkim, aspf, record_domain}.
    """
    from_domain = normalise_host(from_domain)
    dkim_aligned = any(aligned(d, from_domain, record["adkim"]) for d in dkim_domains)
    spf_aligned = spf_result == "pass" and aligned(spf_domain, from_domain, record["aspf"])
    policy = record["policy"] if normalise_host(record_domain) == from_domain else record["subdomain_policy"]
    return {
        "result": "pass" if (dkim_aligned or spf_aligned) else "fail",
        "policy": policy,
        "dkim_aligned": dkim_aligned,
        "spf_aligned": spf_aligned,
        "adkim": record["adkim"],
        "aspf": record["aspf"],
        "record_domain": normalise_host(record_domain),
    }


# ---------------------------------------------------------------------------------------------- PTR = HELO
def check_ptr_helo(client, mail_host, addresses, banner_name=None, ehlo_name=None):
    """Whether each public address has exactly one PTR, the mail host, whose A/AAAA gives the address
    back (forward-confirmed), and the MTA's 220 banner and EHLO reply announce the same name.

    Returns (passed, problems, facts): problems in words, facts a dict for the module's return.
    """
    mail_host = normalise_host(mail_host)
    problems = []
    facts = {"ptr": {}, "forward": {}, "banner_name": banner_name, "ehlo_name": ehlo_name}
    forward_cache = {}
    for address in addresses:
        family = "AAAA" if ipaddress.ip_address(address).version == 6 else "A"
        try:
            names = client.ptr(address)
        except DnsError as exc:
            problems.append("PTR of %s: %s" % (address, exc))
            continue
        facts["ptr"][address] = names
        if not names:
            problems.append("%s has no PTR record" % address)
        elif names != [mail_host]:
            problems.append("PTR of %s is %s, not %s" % (address, ", ".join(names), mail_host))
        if family not in forward_cache:
            try:
                forward_cache[family] = [ipaddress.ip_address(a).compressed for a in client.addresses(mail_host, family)]
            except DnsError as exc:
                forward_cache[family] = None
                problems.append("%s %s: %s" % (mail_host, family, exc))
        forward = forward_cache[family]
        facts["forward"][family] = forward
        if forward is not None and ipaddress.ip_address(address).compressed not in forward:
            problems.append("%s %s does not give %s back (%s), so the PTR is not forward-confirmed"
                            % (mail_host, family, address, ", ".join(forward) or "no record"))
    for what, name in (("the 220 banner", banner_name), ("the EHLO reply", ehlo_name)):
        if name is None:
            continue
        if normalise_host(name) != mail_host:
            problems.append("%s announces %s, not %s" % (what, name, mail_host))
    return not problems, problems, facts


# ---------------------------------------------------------------------------------------------- table
def check_table(checks):
    """The checks as an aligned text table: CHECK, RESULT, REQUIRED, DETAIL."""
    rows = [("CHECK", "RESULT", "REQUIRED", "DETAIL")]
    for check in checks:
        rows.append((check["check"], check["result"], "yes" if check.get("required") else "no", check["detail"]))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for row in rows:
        lines.append(("%-*s  %-*s  %-*s  %s" % (widths[0], row[0], widths[1], row[1], widths[2], row[2], row[3])).rstrip())
    return "\n".join(lines)
