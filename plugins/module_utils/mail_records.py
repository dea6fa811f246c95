# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DNS record set of a sending domain, built from validated input.

``build_mail_records`` turns a sending domain, its mail host and a few policy
choices into the records a receiver checks: A/AAAA of the mail host, MX, SPF,
DKIM, DMARC, and optionally MTA-STS, TLS-RPT and a link-tracking CNAME. Every
input is validated before anything is built; a bad one raises
``RecordSpecError`` whose message starts with the field's name and says why,
e.g. ``dmarc_policy: 'maybe' is not one of none, quarantine, reject``.

The validators and record builders are usable alone. Pure Python: the standard
library only, so it runs in a filter plugin on the controller and in modules.

Choices made here:

* SPF lists the mail host's addresses (``ip4:``/``ip6:``), which cost no DNS
  lookup, rather than ``a`` or ``mx``, leaving the whole budget of 10 lookups
  (RFC 7208 section 4.6.4) to ``spf_extra`` (an ESP's ``include:``, say).
* ``ptr`` is refused in SPF: RFC 7208 section 5.5 says it SHOULD NOT be
  published (slow, unreliable, and some receivers ignore it).
* ``+all`` (or a bare ``all``) is refused: it authorises every host.
* The MTA-STS policy file uses CRLF line endings: RFC 8461 section 3.2 calls
  the fields "CRLF-separated" and its ABNF accepts CRLF or LF, so CRLF is read
  by every parser. Its id is a hash of the policy text, so it changes exactly
  when the policy does.
* DMARC tags with their default value (``adkim=r``, ``aspf=r``, ``pct=100``)
  are left out; ``v`` comes first and ``p`` second (RFC 7489 section 6.4).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib
import inspect
import ipaddress
import re

from ansible_collections.coldrig.infra.plugins.module_utils import validate

SPF_LOOKUP_LIMIT = 10
SPF_LOOKUP_MECHANISMS = ("include", "a", "mx", "ptr", "exists")
SPF_ALL_QUALIFIERS = ("-all", "~all", "?all")
DMARC_POLICIES = ("none", "quarantine", "reject")
DMARC_ALIGNMENTS = ("r", "s")
DMARC_FAILURE_OPTIONS = ("0", "1", "d", "s")
DKIM_KEY_TYPES = ("rsa", "ed25519")
MTA_STS_MODES = ("none", "testing", "enforce")
MTA_STS_MAX_AGE_LIMIT = 31557600  # RFC 8461 section 3.2
MTA_STS_POLICY_PATH = "/.well-known/mta-sts.txt"
TTL_RANGE = (60, 604800)
TRACKING_KEYS = ("name", "target")

_SPF_MACRO = re.compile(r"%(\{[slodiphcrtv][0-9]*r?[.+,/_=-]*\}|%|_|-)")
_SPF_MODIFIER = re.compile(r"^([a-z][a-z0-9_.-]*)=(.*)$", re.IGNORECASE)
_SPF_MECHANISM = re.compile(r"^([+~?-]?)([a-z][a-z0-9_.-]*)([:/].*)?$", re.IGNORECASE)
_SPF_DUAL_CIDR = re.compile(r"^(?P<spec>[^/]*)(?:/(?P<v4>[0-9]{1,2}))?(?://(?P<v6>[0-9]{1,3}))?$")
_LOCAL_PART = re.compile(r"^[A-Za-z0-9#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9#$%&'*+/=?^_`{|}~-]+)*$")
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_DMARC_SIZE = re.compile(r"^[0-9]+[kmgt]?$")
_TAG_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_STS_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_RSA_OID = bytes.fromhex("2a864886f70d010101")  # 1.2.840.113549.1.1.1 rsaEncryption


class RecordSpecError(ValueError):
    """An input that cannot make a valid record; the message is ``<field>: <reason>``."""

    def __init__(self, field, reason):
        super(RecordSpecError, self).__init__("%s: %s" % (field, reason))
        self.field = field
        self.reason = reason


# --- small checks -----------------------------------------------------------------------------


def _text(value, field):
    if not isinstance(value, str):
        raise RecordSpecError(field, "%r is not a string" % (value,))
    return value.strip()


def _optional_text(value):
    """None for a value that is not given: None or an empty string (as inventories leave it)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def _integer(value, field, low, high):
    if isinstance(value, bool):
        raise RecordSpecError(field, "%r is not an integer" % (value,))
    if isinstance(value, str) and re.match(r"^\s*[0-9]+\s*$", value):
        value = int(value)
    if not isinstance(value, int):
        raise RecordSpecError(field, "%r is not an integer" % (value,))
    if not low <= value <= high:
        raise RecordSpecError(field, "%d is not between %d and %d" % (value, low, high))
    return value


def _choice(value, field, choices):
    text = value.strip().lower() if isinstance(value, str) else value
    if text not in choices:
        raise RecordSpecError(field, "%r is not one of %s" % (value, ", ".join(choices)))
    return text


def _string_list(value, field):
    """A list of strings from a list, a tuple or one string; None is the empty list."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if not isinstance(value, (list, tuple)):
        raise RecordSpecError(field, "%r is not a list" % (value,))
    return list(value)


def _uri_list(value, field):
    """Report URIs from a list or a string; commas separate URIs (a URI cannot hold a raw one)."""
    uris = []
    for item in _string_list(value, field):
        if isinstance(item, str):
            uris.extend(part.strip() for part in item.split(",") if part.strip())
        else:
            uris.append(item)
    return uris


def _spf_terms(value, field):
    """SPF terms from a list or a string; blanks separate terms."""
    terms = []
    for item in _string_list(value, field):
        if isinstance(item, str):
            terms.extend(item.split())
        else:
            terms.append(item)
    return terms


def _unique(items):
    seen = set()
    out = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def _name_problem(name, underscores=False):
    """Why a DNS name is not a fully qualified host name (or, with underscores, DNS name), or None.

    The rules are validate.py's, the one validator of names in coldrig.
    """
    if underscores:
        return validate.dns_name_problem(name, wildcard=False, min_labels=2)
    return validate.fqdn_problem(name)


def validate_hostname(value, field="hostname"):
    """A host name in canonical form: lower case, no trailing dot, LDH labels, at least one dot."""
    text = _text(value, field)
    name = validate.normalise_name(text)
    problem = _name_problem(name)
    if problem:
        raise RecordSpecError(field, "%r %s" % (text, problem))
    return name


def _dns_name(value, field):
    """A DNS name that may hold underscore labels (_spf.example.com)."""
    text = _text(value, field)
    name = validate.normalise_name(text)
    problem = _name_problem(name, underscores=True)
    if problem:
        raise RecordSpecError(field, "%r %s" % (text, problem))
    return name


def validate_ipv4(value, field="ipv4", public=False):
    """An IPv4 address as a string; with ``public``, only a globally routable one."""
    if not isinstance(value, str):
        raise RecordSpecError(field, "%r is not an IPv4 address" % (value,))
    try:
        address = ipaddress.IPv4Address(value.strip())
    except ValueError:
        raise RecordSpecError(field, "%r is not an IPv4 address" % (value,))
    if public and not address.is_global:
        raise RecordSpecError(field, "%s is not a public (globally routable) IPv4 address" % address)
    return str(address)


def validate_ipv6(value, field="ipv6", public=False):
    """An IPv6 address in compressed form; with ``public``, only a globally routable one."""
    if not isinstance(value, str):
        raise RecordSpecError(field, "%r is not an IPv6 address" % (value,))
    try:
        address = ipaddress.IPv6Address(value.strip())
    except ValueError:
        raise RecordSpecError(field, "%r is not an IPv6 address" % (value,))
    if address.scope_id:
        raise RecordSpecError(field, "%r has a zone index (%%%s), which DNS cannot hold" % (value, address.scope_id))
    if public and not address.is_global:
        raise RecordSpecError(field, "%s is not a public (globally routable) IPv6 address" % address.compressed)
    return address.compressed


def validate_email_uri(value, field="dmarc_rua", allow_size=True):
    """A ``mailto:`` URI for reports, canonical (scheme and domain lower case).

    DMARC (RFC 7489 section 6.4) allows a size limit suffix, ``!10m``; TLS-RPT does
    not (``allow_size=False``). Commas, semicolons and ``!`` inside the address would
    break the record's syntax and are refused.
    """
    text = _text(value, field)
    if not text.lower().startswith("mailto:"):
        hint = " (write mailto:%s)" % text if "@" in text and ":" not in text else ""
        raise RecordSpecError(field, "%r is not a mailto: URI%s" % (text, hint))
    rest = text[len("mailto:"):]
    address, bang, size = rest.partition("!")
    if bang:
        if not allow_size:
            raise RecordSpecError(field, "%r: a size limit (!%s) is not allowed here" % (text, size))
        if not _DMARC_SIZE.match(size.lower()):
            raise RecordSpecError(field, "%r has a malformed size limit !%s (digits and an optional k, m, g or t)" % (text, size))
        size = size.lower()
    if any(char in address for char in ",; \t") or address.count("@") != 1:
        raise RecordSpecError(field, "%r is not one mailbox address (local@domain, no commas, semicolons or blanks)" % text)
    local, domain = address.split("@")
    if len(local) > 64 or not _LOCAL_PART.match(local) or _PERCENT.search(local):
        raise RecordSpecError(field, "%r has an invalid local part %r" % (text, local))
    name = domain.lower().rstrip(".")
    problem = _name_problem(name)
    if problem:
        raise RecordSpecError(field, "%r: the domain %r %s" % (text, domain, problem))
    return "mailto:%s@%s%s" % (local, name, "!" + size if bang else "")


def _https_uri(value, field):
    text = _text(value, field)
    match = re.match(r"^https://([^/?#:]+)(:[0-9]{1,5})?([/?#][^\s,;]*)?$", text, re.IGNORECASE)
    if not match:
        raise RecordSpecError(field, "%r is not a mailto: or https:// URI" % text)
    host = match.group(1).lower()
    problem = _name_problem(host)
    if problem:
        raise RecordSpecError(field, "%r: the host %r %s" % (text, host, problem))
    return "https://" + host + (match.group(2) or "") + (match.group(3) or "")


# --- SPF ----------------------------------------------------------------------------------------


def _spf_domain_spec(spec, field, term):
    """Validate an SPF domain-spec (RFC 7208 section 7.1), macros allowed; returns it canonical."""
    if not spec:
        raise RecordSpecError(field, "%r needs a domain" % term)
    if "%" not in spec:
        name = spec.lower().rstrip(".")
        problem = _name_problem(name, underscores=True)
        if problem:
            raise RecordSpecError(field, "%r: the domain %r %s" % (term, spec, problem))
        return name
    # With macros: every % starts a valid macro, and the rest is visible ASCII.
    stripped = _SPF_MACRO.sub("", spec)
    if "%" in stripped:
        raise RecordSpecError(field, "%r has an invalid macro (RFC 7208 section 7.1)" % term)
    if not re.match(r"^[\x21-\x7e]*$", spec):
        raise RecordSpecError(field, "%r has a character that is not visible ASCII" % term)
    return spec


def _spf_parse_term(term):
    """(kind, qualifier, name, argument) of one SPF term; kind is mechanism, modifier or None."""
    match = _SPF_MODIFIER.match(term)
    if match:
        return "modifier", "", match.group(1).lower(), match.group(2)
    match = _SPF_MECHANISM.match(term)
    if match:
        return "mechanism", match.group(1), match.group(2).lower(), match.group(3) or ""
    return None, "", "", term


def _spf_term(term, field):
    """One mechanism or modifier for a record we publish, validated and canonical."""
    if not isinstance(term, str):
        raise RecordSpecError(field, "%r is not a string" % (term,))
    term = term.strip()
    if not term:
        raise RecordSpecError(field, "an empty mechanism")
    if any(char.isspace() for char in term):
        raise RecordSpecError(field, "%r contains blanks" % term)
    kind, qualifier, name, argument = _spf_parse_term(term)
    if term.lower() == "v=spf1":
        raise RecordSpecError(field, "give the mechanisms only; v=spf1 is added")
    if kind == "modifier":
        if name not in ("redirect", "exp"):
            raise RecordSpecError(field, "%r is not a known modifier (redirect=, exp=)" % term)
        return "%s=%s" % (name, _spf_domain_spec(argument, field, term))
    if kind is None:
        raise RecordSpecError(field, "%r is not an SPF mechanism or modifier" % term)
    if name == "all":
        raise RecordSpecError(field, "%r: the all mechanism is set by spf_all, not among the mechanisms" % term)
    if name == "ptr":
        raise RecordSpecError(field, "%r is refused: RFC 7208 section 5.5 says ptr SHOULD NOT be published "
                                     "(slow, unreliable, ignored by some receivers); use ip4:, ip6: or include:" % term)
    if name in ("ip4", "ip6"):
        return qualifier + name + ":" + _spf_ip(name, argument, field, term)
    if name in ("include", "exists"):
        if not argument.startswith(":"):
            raise RecordSpecError(field, "%r needs a domain (%s:<domain>)" % (term, name))
        return qualifier + name + ":" + _spf_domain_spec(argument[1:], field, term)
    if name in ("a", "mx"):
        return qualifier + name + _spf_host_argument(argument, field, term)
    raise RecordSpecError(field, "%r: %r is not an SPF mechanism (ip4, ip6, a, mx, include, exists)" % (term, name))


def _spf_ip(name, argument, field, term):
    if not argument.startswith(":"):
        raise RecordSpecError(field, "%r needs an address (%s:<address>[/<prefix>])" % (term, name))
    address, slash, prefix = argument[1:].partition("/")
    maximum = 32 if name == "ip4" else 128
    try:
        if name == "ip4":
            text = str(ipaddress.IPv4Address(address))
        else:
            parsed = ipaddress.IPv6Address(address)
            if parsed.scope_id:
                raise ValueError(address)
            text = parsed.compressed
    except ValueError:
        raise RecordSpecError(field, "%r: %r is not an %s address" % (term, address, "IPv4" if name == "ip4" else "IPv6"))
    if slash:
        if not prefix.isdigit() or int(prefix) > maximum or (len(prefix) > 1 and prefix[0] == "0"):
            raise RecordSpecError(field, "%r: the prefix length /%s is not between 0 and %d" % (term, prefix, maximum))
        text += "/" + prefix
    return text


def _spf_host_argument(argument, field, term):
    """The ``[:domain-spec][/ip4-cidr][//ip6-cidr]`` of a or mx."""
    if argument.startswith(":"):
        rest = argument[1:]
        spec_end = rest.find("/")
        spec, cidr = (rest, "") if spec_end < 0 else (rest[:spec_end], rest[spec_end:])
        text = ":" + _spf_domain_spec(spec, field, term)
    else:
        cidr = argument
        text = ""
    if cidr:
        match = _SPF_DUAL_CIDR.match(cidr)
        if not match or match.group("spec") or (match.group("v4") is None and match.group("v6") is None):
            raise RecordSpecError(field, "%r has a malformed prefix length (/<ip4>, //<ip6> or /<ip4>//<ip6>)" % term)
        if match.group("v4") is not None and int(match.group("v4")) > 32:
            raise RecordSpecError(field, "%r: the IPv4 prefix length is not between 0 and 32" % term)
        if match.group("v6") is not None and int(match.group("v6")) > 128:
            raise RecordSpecError(field, "%r: the IPv6 prefix length is not between 0 and 128" % term)
        text += cidr
    return text


def validate_spf_all(value, field="spf_all"):
    """The closing ``all`` term: -all, ~all or ?all, never +all."""
    if value is None:
        return None
    text = _text(value, field).lower()
    if text in ("all", "+all"):
        raise RecordSpecError(field, "%r is refused: it authorises every host on the internet to send as the domain, "
                                     "which defeats SPF; use -all or ~all" % value)
    if text not in SPF_ALL_QUALIFIERS:
        raise RecordSpecError(field, "%r is not one of %s" % (value, ", ".join(SPF_ALL_QUALIFIERS)))
    return text


def spf_record(mechanisms, all_qualifier="~all", field="spf_extra", all_field="spf_all"):
    """A validated ``v=spf1 ...`` value: the mechanisms in order, then the all term, then modifiers.

    ``mechanisms`` is a list of terms or a string of blank-separated terms; duplicates
    are dropped. A ``redirect=`` is ignored by receivers when the record has an
    ``all`` (RFC 7208 section 6.1), so it needs ``all_qualifier=None``. The record
    may cause at most 10 DNS lookups (RFC 7208 section 4.6.4). ``field`` and
    ``all_field`` name the inputs in error messages.
    """
    terms = [_spf_term(term, field) for term in _spf_terms(mechanisms, field)]
    terms = _unique(terms)
    modifiers = [term for term in terms if _SPF_MODIFIER.match(term)]
    mechanisms_only = [term for term in terms if not _SPF_MODIFIER.match(term)]
    for name in ("redirect", "exp"):
        given = [term for term in modifiers if term.startswith(name + "=")]
        if len(given) > 1:
            raise RecordSpecError(field, "%s= appears %d times (%s); RFC 7208 section 6 allows it once"
                                  % (name, len(given), ", ".join(given)))
    closing = validate_spf_all(all_qualifier, all_field)
    has_redirect = any(term.startswith("redirect=") for term in modifiers)
    if closing and has_redirect:
        raise RecordSpecError(all_field, "%r: receivers ignore redirect= when the record has an all term (RFC 7208 section 6.1); "
                                         "set spf_all to none to use the redirect, or use include: instead" % closing)
    if not closing and not has_redirect:
        raise RecordSpecError(all_field, "a record needs an all term (-all, ~all, ?all) or a redirect= modifier")
    record = " ".join(["v=spf1"] + mechanisms_only + ([closing] if closing else []) + modifiers)
    count_spf_lookups(record, field=field)
    return record


def _spf_records_of(answers):
    strings = []
    for answer in answers or ():
        if isinstance(answer, bytes):
            answer = answer.decode("utf-8", "replace")
        elif isinstance(answer, (list, tuple)):
            answer = "".join(part.decode("utf-8", "replace") if isinstance(part, bytes) else part for part in answer)
        strings.append(answer)
    return [text for text in strings if text.lower() == "v=spf1" or text.lower().startswith("v=spf1 ")]


def _spf_walk(record, domain, resolve, field, state, chain):
    terms = record.split()
    if not terms or terms[0].lower() != "v=spf1":
        where = " of %s" % domain if domain else ""
        raise RecordSpecError(field, "the record%s does not start with v=spf1: %r" % (where, record))
    parsed = [(term,) + _spf_parse_term(term) for term in terms[1:]]
    has_all = any(item[1] == "mechanism" and item[3] == "all" for item in parsed)
    via = " (via %s)" % " > ".join(chain) if chain else ""
    for term, kind, name, argument in [(item[0], item[1], item[3], item[4]) for item in parsed]:
        if kind == "mechanism" and name in SPF_LOOKUP_MECHANISMS:
            state["lookups"].append(term + via)
            if name == "include" and resolve is not None and argument.startswith(":"):
                _spf_follow(argument[1:], "include", resolve, field, state, chain)
        elif kind == "modifier" and name == "redirect" and not has_all:
            state["lookups"].append(term + via)
            if resolve is not None:
                _spf_follow(argument, "redirect", resolve, field, state, chain)


def _spf_follow(target, how, resolve, field, state, chain):
    if "%" in target or len(state["lookups"]) > 10 * SPF_LOOKUP_LIMIT:
        return  # a macro cannot be resolved in advance; a runaway tree is already far over the limit
    target = target.lower().rstrip(".")
    if target in chain:
        raise RecordSpecError(field, "%s:%s loops back (%s > %s); a receiver returns permerror" % (how, target, " > ".join(chain), target))
    answers = resolve(target)
    if isinstance(answers, (str, bytes)):
        answers = [answers]
    records = _spf_records_of(answers)
    if not records:
        void = " (a void lookup)" if not answers else ""
        raise RecordSpecError(field, "%s:%s: %s publishes no SPF record%s; RFC 7208 section %s makes that a permerror"
                              % (how, target, target, void, "5.2" if how == "include" else "6.1"))
    if len(records) > 1:
        raise RecordSpecError(field, "%s:%s: %s publishes %d SPF records; RFC 7208 section 4.5 makes that a permerror"
                              % (how, target, target, len(records)))
    _spf_walk(records[0], target, resolve, field, state, chain + (target,))


def count_spf_lookups(record, resolve=None, domain=None, field="spf"):
    """The number of DNS-querying terms of an SPF record; more than 10 is an error.

    Counts include, a, mx, ptr, exists and redirect (RFC 7208 section 4.6.4). With
    ``resolve`` (a callable: name -> list of TXT strings, empty or None when the name
    has none) it follows include and redirect into the records they name and counts
    their lookups too, refusing loops (``domain`` is the record's own name, to catch
    an include of itself). An include or redirect whose lookup comes back empty (a
    void lookup) or without an SPF record is an error: receivers return permerror
    for it (RFC 7208 sections 5.2 and 6.1) before the void-lookup limit of 2 matters.
    Targets with macros are counted but not followed; a, mx, exists and ptr targets
    are not resolved (a TXT resolver cannot), so their own void lookups are not seen.
    """
    record = _text(record, field)
    state = {"lookups": []}
    chain = (domain.lower().rstrip("."),) if domain else ()
    _spf_walk(record, domain, resolve, field, state, chain)
    lookups = state["lookups"]
    if len(lookups) > SPF_LOOKUP_LIMIT:
        raise RecordSpecError(field, "%d DNS-lookup mechanisms (%s) exceed the limit of %d (RFC 7208 section 4.6.4)"
                              % (len(lookups), ", ".join(lookups), SPF_LOOKUP_LIMIT))
    return len(lookups)


# --- DMARC --------------------------------------------------------------------------------------


def _failure_options(value, field):
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    options = value.split(":") if isinstance(value, str) else [str(option) for option in _string_list(value, field)]
    options = [_choice(option, field, DMARC_FAILURE_OPTIONS) for option in options if option.strip()]
    if not options:
        return None
    if len(set(options)) != len(options):
        raise RecordSpecError(field, "%r repeats an option" % (value,))
    if "0" in options and "1" in options:
        raise RecordSpecError(field, "%r: the options 0 and 1 exclude each other" % (value,))
    return ":".join(options)


def dmarc_record(policy="none", rua=(), ruf=(), pct=100, subdomain_policy=None, adkim="r", aspf="r", fo=None):
    """A validated ``v=DMARC1; p=...`` value (RFC 7489): v first, p second, defaults left out."""
    tags = ["v=DMARC1", "p=" + _choice(policy, "dmarc_policy", DMARC_POLICIES)]
    if subdomain_policy is not None:
        tags.append("sp=" + _choice(subdomain_policy, "dmarc_subdomain_policy", DMARC_POLICIES))
    if _choice(adkim, "dmarc_adkim", DMARC_ALIGNMENTS) != "r":
        tags.append("adkim=s")
    if _choice(aspf, "dmarc_aspf", DMARC_ALIGNMENTS) != "r":
        tags.append("aspf=s")
    pct = _integer(pct, "dmarc_pct", 0, 100)
    if pct != 100:
        tags.append("pct=%d" % pct)
    options = _failure_options(fo, "dmarc_fo")
    if options:
        tags.append("fo=" + options)
    for name, value in (("rua", rua), ("ruf", ruf)):
        uris = _unique(validate_email_uri(uri, "dmarc_" + name) for uri in _uri_list(value, "dmarc_" + name))
        if uris:
            tags.append("%s=%s" % (name, ",".join(uris)))
    return "; ".join(tags)


# --- DKIM ---------------------------------------------------------------------------------------


def _der_element(data, pos):
    """(tag, content, next position) of the DER element at pos."""
    if pos + 2 > len(data):
        raise ValueError("truncated")
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        size = length & 0x7F
        if size == 0 or size > 4 or pos + size > len(data):
            raise ValueError("bad length")
        length = int.from_bytes(data[pos:pos + size], "big")
        pos += size
    end = pos + length
    if end > len(data):
        raise ValueError("truncated")
    return tag, data[pos:end], end


def _rsa_modulus_bits(der):
    """Bits of the modulus of a SubjectPublicKeyInfo or a bare RSAPublicKey (DER)."""
    tag, body, end = _der_element(der, 0)
    if tag != 0x30 or end != len(der):
        raise ValueError("not a DER sequence")
    tag, first, pos = _der_element(body, 0)
    if tag == 0x30:  # SubjectPublicKeyInfo: AlgorithmIdentifier, BIT STRING
        algorithm = _der_element(first, 0)
        if algorithm[0] != 0x06 or algorithm[1] != _RSA_OID:
            raise ValueError("not an RSA key")
        bit_string = _der_element(body, pos)
        if bit_string[0] != 0x03 or not bit_string[1] or bit_string[1][0] != 0:
            raise ValueError("no key bit string")
        return _rsa_modulus_bits(bit_string[1][1:])
    if tag != 0x02:
        raise ValueError("no modulus")
    exponent = _der_element(body, pos)
    if exponent[0] != 0x02 or not exponent[1] or exponent[2] != len(body):
        raise ValueError("no exponent")
    return int.from_bytes(first, "big").bit_length()


def _dkim_tags(text, field):
    if '"' in text:  # zone-file form: "v=DKIM1; k=rsa; " "p=MIIB..."
        text = "".join(part.replace('\\"', '"').replace("\\\\", "\\") for part in _QUOTED.findall(text))
    tags = []
    seen = set()
    specs = text.split(";")
    for index, spec in enumerate(specs):
        spec = spec.strip()
        if not spec:
            if index == len(specs) - 1:
                continue  # a trailing ; is allowed (RFC 6376 section 3.2)
            raise RecordSpecError(field, "has an empty tag between semicolons")
        name, equals, value = spec.partition("=")
        name = name.strip()
        if not equals or not _TAG_NAME.match(name):
            raise RecordSpecError(field, "%r is not a tag=value pair" % spec)
        if name in seen:
            raise RecordSpecError(field, "the tag %s appears twice (RFC 6376 section 3.2)" % name)
        seen.add(name)
        tags.append((name, value.strip()))
    return tags


def dkim_txt_ok(value, field="dkim_txt"):
    """Validate a DKIM key record (RFC 6376 section 3.6.1); returns its canonical value.

    ``v=DKIM1`` (first when present), ``k=rsa`` (default) or ``k=ed25519``, and a
    base64 ``p=``: an RSA key of 1024 to 4096 bits (RFC 8301 section 3.2) or a 32-byte
    Ed25519 key (RFC 8463). An empty ``p=`` (a revoked key) is refused. The value
    may be given in zone-file form (quoted strings); whitespace inside ``p=`` is
    removed.
    """
    text = _text(value, field)
    tags = _dkim_tags(text, field)
    values = dict(tags)
    if "v" in values and (values["v"] != "DKIM1" or tags[0][0] != "v"):
        raise RecordSpecError(field, "v= must be the first tag and equal DKIM1 (RFC 6376 section 3.6.1)")
    key_type = values.get("k", "rsa")
    if key_type not in DKIM_KEY_TYPES:
        raise RecordSpecError(field, "k=%s is not one of %s" % (key_type, ", ".join(DKIM_KEY_TYPES)))
    if "h" in values and "sha256" not in [item.strip() for item in values["h"].split(":")]:
        raise RecordSpecError(field, "h=%s does not allow sha256, the only hash signers may use (RFC 8301 section 3.1)" % values["h"])
    if "s" in values and not {"*", "email"} & {item.strip() for item in values["s"].split(":")}:
        raise RecordSpecError(field, "s=%s does not include email or *, so the key cannot sign mail" % values["s"])
    if "p" not in values:
        raise RecordSpecError(field, "has no p= tag (the public key)")
    key = re.sub(r"\s+", "", values["p"])
    if not key:
        raise RecordSpecError(field, "p= is empty, which marks a revoked key")
    try:
        der = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise RecordSpecError(field, "p= is not valid base64")
    if key_type == "ed25519":
        if len(der) != 32:
            raise RecordSpecError(field, "p= holds %d bytes; an Ed25519 key is 32 (RFC 8463 section 4.2)" % len(der))
    else:
        try:
            bits = _rsa_modulus_bits(der)
        except (ValueError, IndexError):
            raise RecordSpecError(field, "p= is not a DER-encoded RSA public key")
        if not 1024 <= bits <= 4096:
            raise RecordSpecError(field, "p= is a %d-bit RSA key; verifiers accept 1024 to 4096 bits (RFC 8301 section 3.2)" % bits)
    return "; ".join("%s=%s" % (name, key if name == "p" else tag_value) for name, tag_value in tags)


def validate_dkim_selector(value, field="dkim_selector"):
    """A DKIM selector (RFC 6376 section 3.1): one or more LDH labels, lower-cased."""
    text = _text(value, field)
    selector = text.lower()
    problem = validate.dkim_selector_problem(selector)
    if problem:
        raise RecordSpecError(field, "%r %s" % (text, problem))
    return selector


# --- MTA-STS and TLS-RPT ------------------------------------------------------------------------


def mta_sts_txt(policy_id):
    """The ``_mta-sts`` TXT value for a policy id of 1 to 32 letters and digits (RFC 8461 section 3.1)."""
    if not isinstance(policy_id, str) or not _STS_ID.match(policy_id):
        raise RecordSpecError("mta_sts_id", "%r is not 1 to 32 letters and digits (RFC 8461 section 3.1)" % (policy_id,))
    return "v=STSv1; id=%s" % policy_id


def mta_sts_policy(mode, mx_hosts, max_age=604800):
    """The policy file text (RFC 8461 section 3.2), CRLF-separated, ending with CRLF."""
    mode = _choice(mode, "mta_sts_mode", MTA_STS_MODES)
    patterns = []
    for host in _string_list(mx_hosts, "mta_sts_mx"):
        text = _text(host, "mta_sts_mx")
        wildcard = text.startswith("*.")
        name = validate_hostname(text[2:] if wildcard else text, "mta_sts_mx")
        patterns.append(("*." if wildcard else "") + name)
    patterns = _unique(patterns)
    if not patterns:
        raise RecordSpecError("mta_sts_mx", "the policy needs at least one mx pattern")
    max_age = _integer(max_age, "mta_sts_max_age", 0, MTA_STS_MAX_AGE_LIMIT)
    lines = ["version: STSv1", "mode: %s" % mode] + ["mx: %s" % pattern for pattern in patterns] + ["max_age: %d" % max_age]
    return "\r\n".join(lines) + "\r\n"


def mta_sts_policy_id(policy_text):
    """A stable id for a policy: the first 32 hex digits of the SHA-256 of its text."""
    return hashlib.sha256(policy_text.encode("utf-8")).hexdigest()[:32]


def mta_sts_policy_for(domain, mail_host, mta_sts_mode=None, mta_sts_max_age=604800, fleet_hosts=()):
    """What ``https://mta-sts.<domain>/.well-known/mta-sts.txt`` must serve, or None without a mode.

    Returns host, path, url, content (the policy text), content_type and id (the
    id the ``_mta-sts`` TXT record of ``build_mail_records`` carries). A domain served by
    several nodes (``fleet_hosts``) lists every node's mail host as an ``mx``.
    """
    domain = validate_hostname(domain, "domain")
    mail_host = validate_hostname(mail_host, "mail_host")
    if _optional_text(mta_sts_mode) is None:
        return None
    hosts = [entry["mail_host"] for entry in _fleet_hosts(fleet_hosts, mail_host, None, None)]
    content = mta_sts_policy(mta_sts_mode, hosts, mta_sts_max_age)
    host = "mta-sts." + domain
    return {
        "host": host,
        "path": MTA_STS_POLICY_PATH,
        "url": "https://" + host + MTA_STS_POLICY_PATH,
        "content": content,
        "content_type": "text/plain",
        "id": mta_sts_policy_id(content),
    }


def tls_rpt_txt(rua, field="tls_rpt_rua"):
    """The ``_smtp._tls`` TXT value (RFC 8460 section 3): mailto: or https:// report URIs."""
    uris = []
    for uri in _uri_list(rua, field):
        if isinstance(uri, str) and uri.lower().startswith("https:"):
            uris.append(_https_uri(uri, field))
        else:
            uris.append(validate_email_uri(uri, field, allow_size=False))
    uris = _unique(uris)
    if not uris:
        raise RecordSpecError(field, "needs at least one mailto: or https:// URI")
    return "v=TLSRPTv1; rua=%s" % ",".join(uris)


# --- the record set -----------------------------------------------------------------------------


def _inside(name, zone):
    return name == zone or name.endswith("." + zone)


def _fleet_hosts(fleet_hosts, mail_host, ipv4, ipv6):
    """Every node that serves the domain, in placement order: [{mail_host, ipv4, ipv6}].

    Without ``fleet_hosts`` it is this node alone. With it (a domain served by several
    nodes on purpose, see placement.py), this node must be one of them, and each node's
    build of the record set is the same apart from its own DKIM selector.
    """
    if not fleet_hosts:
        return [{"mail_host": mail_host, "ipv4": ipv4, "ipv6": ipv6}]
    if not isinstance(fleet_hosts, (list, tuple)):
        raise RecordSpecError("fleet_hosts", "must be a list of {mail_host, ipv4, ipv6}")
    hosts = []
    for index, entry in enumerate(fleet_hosts):
        field = "fleet_hosts[%d]" % index
        if not isinstance(entry, dict):
            raise RecordSpecError(field, "must be a dict {mail_host, ipv4, ipv6}")
        host = validate_hostname(entry.get("mail_host"), field + ".mail_host")
        four, six = _optional_text(entry.get("ipv4")), _optional_text(entry.get("ipv6"))
        if four is None and six is None:
            raise RecordSpecError(field, "the mail host %s needs an address: give ipv4, ipv6 or both" % host)
        hosts.append({"mail_host": host, "ipv4": validate_ipv4(four, field + ".ipv4") if four else None,
                      "ipv6": validate_ipv6(six, field + ".ipv6") if six else None})
    if mail_host not in [entry["mail_host"] for entry in hosts]:
        raise RecordSpecError("fleet_hosts", "does not list this node's mail host %s" % mail_host)
    return hosts


def _host_zone(domain, mail_host, mail_host_zone):
    if _optional_text(mail_host_zone) is not None:
        zone = validate_hostname(mail_host_zone, "mail_host_zone")
        if not _inside(mail_host, zone):
            raise RecordSpecError("mail_host_zone", "%r does not contain the mail host %s" % (mail_host_zone, mail_host))
        return zone
    if _inside(mail_host, domain):
        return domain
    parent = mail_host.split(".", 1)[1]
    if "." not in parent:
        raise RecordSpecError("mail_host_zone", "the mail host %s is outside %s and its parent %s is a top-level domain; "
                                                "give the zone of the mail host" % (mail_host, domain, parent))
    return parent


def _tracking(tracking, domain):
    if tracking is None:
        return None
    if not isinstance(tracking, dict):
        raise RecordSpecError("tracking", "%r is not a dict with name and target" % (tracking,))
    unknown = sorted(set(tracking) - set(TRACKING_KEYS))
    if unknown:
        raise RecordSpecError("tracking", "unknown keys %s (allowed: %s)" % (", ".join(map(str, unknown)), ", ".join(TRACKING_KEYS)))
    for key in TRACKING_KEYS:
        if _optional_text(tracking.get(key)) is None:
            raise RecordSpecError("tracking.%s" % key, "is required")
    name = _text(tracking["name"], "tracking.name").lower().rstrip(".")
    if name in ("@", domain):
        raise RecordSpecError("tracking.name", "a CNAME cannot be at the apex of %s (RFC 1034 section 3.6.2)" % domain)
    fqdn = name if name.endswith("." + domain) else name + "." + domain
    fqdn = validate_hostname(fqdn, "tracking.name")
    target = validate_hostname(tracking["target"], "tracking.target")
    if target == fqdn:
        raise RecordSpecError("tracking.target", "%s would point at itself" % target)
    return fqdn, target


# The record set owns these (name, type) pairs outright: a changed mail host address or MX
# replaces the old value (dns_records' per-record purge). TXT values replace only their own kind
# (SPF, DKIM, DMARC, ...), so other TXT values at the apex stay.
OWNED_TYPES = ("A", "AAAA", "MX", "CNAME")


def _record(zone, name, rtype, content, ttl, priority=None):
    record = {"zone": zone, "name": name, "type": rtype, "content": content, "ttl": ttl}
    if priority is not None:
        record["priority"] = priority
    if rtype in OWNED_TYPES:
        record["purge"] = True
    return record


def build_mail_records(domain, mail_host, ipv4=None, ipv6=None, dkim_selector=None, dkim_txt=None,
                       dmarc_policy="none", dmarc_rua=(), dmarc_ruf=(), dmarc_pct=100, dmarc_subdomain_policy=None,
                       dmarc_adkim="r", dmarc_aspf="r", dmarc_fo=None, spf_extra=(), spf_all="~all", mx_priority=10,
                       mta_sts_mode=None, mta_sts_max_age=604800, tls_rpt_rua=None, tracking=None, ttl=3600,
                       mail_host_zone=None, fleet_hosts=()):
    """The DNS records of one sending domain, as dicts ``zone, name, type, content, ttl[, priority]``.

    Names are FQDNs without the trailing dot; TXT content is the logical value
    (unquoted, unsplit). The mail host's A/AAAA go in ``mail_host_zone``, else the
    sending domain when the host is inside it, else the host's parent. Every
    input is validated before anything is built; the first bad one raises
    RecordSpecError.

    A domain served by several nodes (``fleet_hosts``, every node in placement order) gets
    an MX per node, one SPF value with every node's addresses, an MTA-STS policy naming
    every mail host and mta-sts.<domain> at every node's address; each node adds its own
    DKIM selector. Only this node's own mail host A/AAAA are built here (each node brings
    its own).
    """
    domain = validate_hostname(domain, "domain")
    mail_host = validate_hostname(mail_host, "mail_host")
    ipv4 = _optional_text(ipv4)
    ipv6 = _optional_text(ipv6)
    if ipv4 is None and ipv6 is None:
        raise RecordSpecError("ipv4", "the mail host needs an address: give ipv4, ipv6 or both")
    if ipv4 is not None:
        ipv4 = validate_ipv4(ipv4, "ipv4")
    if ipv6 is not None:
        ipv6 = validate_ipv6(ipv6, "ipv6")
    dkim_selector = _optional_text(dkim_selector)
    dkim_txt = _optional_text(dkim_txt)
    if dkim_selector is not None:
        dkim_selector = validate_dkim_selector(dkim_selector, "dkim_selector")
        if dkim_txt is None:
            raise RecordSpecError("dkim_txt", "is required with dkim_selector")
    if dkim_txt is not None:
        dkim_txt = dkim_txt_ok(dkim_txt, "dkim_txt")
        if dkim_selector is None:
            raise RecordSpecError("dkim_selector", "is required with dkim_txt")
    dmarc = dmarc_record(dmarc_policy, dmarc_rua, dmarc_ruf, dmarc_pct, dmarc_subdomain_policy, dmarc_adkim, dmarc_aspf, dmarc_fo)
    hosts = _fleet_hosts(fleet_hosts, mail_host, ipv4, ipv6)
    own = []
    for entry in hosts:
        own += (["ip4:" + entry["ipv4"]] if entry["ipv4"] else []) + (["ip6:" + entry["ipv6"]] if entry["ipv6"] else [])
    spf = spf_record(_unique(own) + _spf_terms(spf_extra, "spf_extra"), spf_all, "spf_extra", "spf_all")
    mx_priority = _integer(mx_priority, "mx_priority", 0, 65535)
    sts = mta_sts_policy_for(domain, mail_host, mta_sts_mode, mta_sts_max_age, fleet_hosts)
    tls_rpt = tls_rpt_txt(tls_rpt_rua) if _uri_list(tls_rpt_rua, "tls_rpt_rua") else None
    track = _tracking(tracking, domain)
    if track and track[0] in (mail_host, "mta-sts." + domain if sts else None):
        raise RecordSpecError("tracking.name", "%s already has other records; a CNAME must stand alone (RFC 1034 section 3.6.2)" % track[0])
    ttl = _integer(ttl, "ttl", TTL_RANGE[0], TTL_RANGE[1])
    host_zone = _host_zone(domain, mail_host, mail_host_zone)

    records = []
    if ipv4:
        records.append(_record(host_zone, mail_host, "A", ipv4, ttl))
    if ipv6:
        records.append(_record(host_zone, mail_host, "AAAA", ipv6, ttl))
    if sts:
        for entry in hosts:
            if entry["ipv4"]:
                records.append(_record(domain, "mta-sts." + domain, "A", entry["ipv4"], ttl))
            if entry["ipv6"]:
                records.append(_record(domain, "mta-sts." + domain, "AAAA", entry["ipv6"], ttl))
    for entry in hosts:
        records.append(_record(domain, domain, "MX", entry["mail_host"], ttl, mx_priority))
    records.append(_record(domain, domain, "TXT", spf, ttl))
    if dkim_selector:
        records.append(_record(domain, "%s._domainkey.%s" % (dkim_selector, domain), "TXT", dkim_txt, ttl))
    records.append(_record(domain, "_dmarc." + domain, "TXT", dmarc, ttl))
    if sts:
        records.append(_record(domain, "_mta-sts." + domain, "TXT", mta_sts_txt(sts["id"]), ttl))
    if tls_rpt:
        records.append(_record(domain, "_smtp._tls." + domain, "TXT", tls_rpt, ttl))
    if track:
        records.append(_record(domain, track[0], "CNAME", track[1], ttl))
    unique = []
    for record in records:  # the mail host may be mta-sts.<domain> itself
        if record not in unique:
            unique.append(record)
    return unique


def keyword_options(function):
    """The keyword options of a builder: its parameters after the first (the domain)."""
    return tuple(parameter.name for parameter in list(inspect.signature(function).parameters.values())[1:])


# The one list of what shapes a domain's records: build_mail_records' keyword options.
MAIL_RECORDS_OPTIONS = keyword_options(build_mail_records)
# Options that come from the node (its host name and addresses) and from its DKIM key,
# not from a sending domain's keys in the onboarding spec.
NODE_OPTIONS = ("mail_host", "ipv4", "ipv6", "fleet_hosts")
DKIM_OPTIONS = ("dkim_selector", "dkim_txt")
# The keys of a sending domain (coldrig_domains[]) that the record set takes as they are.
SPEC_RECORD_KEYS = tuple(name for name in MAIL_RECORDS_OPTIONS if name not in NODE_OPTIONS + DKIM_OPTIONS)
