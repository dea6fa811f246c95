# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One set of rules for names, hosts, ports, quotas and the like, for every part of coldrig.

The spec checker (``onboarding_spec``), the modules (on the controller and on the node) and
the filters all ask this module, so a value that the checker accepts is one that the step
using it accepts too. Plain Python with no third-party import, so a module that runs on a
node can ship it.

Two shapes for every rule:

* ``<thing>_problem(value)`` returns why the value is not acceptable, or None;
* ``check_<thing>(value, field)`` returns the normalised value or raises ValidationError
  whose text is ``<field>: <value> <reason>`` (STYLE.md: the field, the value, the fix).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import ipaddress
import re
import string

MAX_NAME = 253
MAX_LABEL = 63
# A host name label (RFC 952/1123: letters, digits, hyphens, not at either end).
_LDH_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
# A label of a DNS owner name that is not a host name (_dmarc, _mta-sts, s1._domainkey).
_DNS_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$")
_UNIX_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
QUOTA_UNITS = "BKMGT"
_QUOTA = re.compile(r"^([0-9]+)([BKMGT]?)$")
LOCAL_PART_CHARS = frozenset(string.ascii_lowercase + string.digits + "._-")
LOCAL_PART_MAX = 64
DISPLAY_NAME_MAX = 128


class ValidationError(ValueError):
    """A value that breaks a rule; ``str()`` is ``<field>: <value> <reason>``."""

    def __init__(self, field, value, reason):
        self.field, self.value, self.reason = field, value, reason
        super(ValidationError, self).__init__("%s: %r %s" % (field, value, reason))


def _check(problem, value, field, normalised=None):
    reason = problem(value)
    if reason:
        raise ValidationError(field, value, reason)
    return normalised(value) if normalised else value


# ---------------------------------------------------------------- addresses
def is_ip_address(value):
    """True for an IPv4 or IPv6 address written as text (no brackets, no port)."""
    if not isinstance(value, str):
        return False
    try:
        ipaddress.ip_address(value.strip())
    except ValueError:
        return False
    return True


def ipv4_problem(value):
    try:
        ipaddress.IPv4Address((value or "").strip() if isinstance(value, str) else value)
    except (ValueError, TypeError, ipaddress.AddressValueError):
        return "is not an IPv4 address"
    return None


def ipv6_problem(value):
    try:
        ipaddress.IPv6Address((value or "").strip() if isinstance(value, str) else value)
    except (ValueError, TypeError, ipaddress.AddressValueError):
        return "is not an IPv6 address"
    return None


# -------------------------------------------------------------------- names
def normalise_name(value):
    """Lower case, blanks and one trailing dot removed (the form every rule below checks)."""
    name = value.strip().lower()
    return name[:-1] if name.endswith(".") else name


def _name_problem(value, label_re, what, min_labels=1, wildcard=False, top_level=True):
    if not isinstance(value, str) or not value.strip():
        return "is empty: give %s" % what
    name = normalise_name(value)
    if is_ip_address(name):
        return "is an IP address, not %s" % what
    if len(name) > MAX_NAME:
        return "is %d characters long; a DNS name has at most %d" % (len(name), MAX_NAME)
    labels = name.split(".")
    if len(labels) < min_labels:
        return "has no dot: %s looks like example.com" % what
    for index, label in enumerate(labels):
        if not label:
            return "has an empty label (two dots in a row, or a leading dot)"
        if len(label) > MAX_LABEL:
            return "has the label %r of %d characters; a label has at most %d" % (label, len(label), MAX_LABEL)
        if wildcard and index == 0 and label == "*":
            continue
        if not label_re.match(label):
            allowed = "a-z, 0-9, '-' and '_'" if label_re is _DNS_LABEL else "a-z, 0-9 and '-'"
            return ("has the label %r: a label holds only %s, not at either end "
                    "(an internationalised name goes in its xn-- form)" % (label, allowed))
    if not top_level:  # a name inside another (a DKIM selector), not ending in a top-level domain
        return None
    if labels[-1].isdigit():
        return "ends in an all-digit label, which is not a top-level domain"
    if min_labels > 1 and "_" in labels[-1]:
        return "ends in the label %r, which cannot be a top-level domain" % labels[-1]
    return None


def hostname_problem(value):
    """Why ``value`` is not a host name (LDH labels; one label is allowed), or None."""
    return _name_problem(value, _LDH_LABEL, "a host name")


def fqdn_problem(value):
    """Why ``value`` is not a fully qualified host name (at least two LDH labels), or None."""
    return _name_problem(value, _LDH_LABEL, "a fully qualified host name", min_labels=2)


def domain_problem(value):
    """Why ``value`` is not a sending domain (at least two LDH labels), or None."""
    return _name_problem(value, _LDH_LABEL, "a domain name", min_labels=2)


def dns_name_problem(value, wildcard=True, min_labels=1):
    """Why ``value`` is not a DNS name (labels may hold '_'; '*' first), or None.

    With ``min_labels=2`` the name must be fully qualified (a CNAME target, an SPF
    ``include:`` domain), and its last label, a top-level domain, may not hold '_'.
    """
    what = "a DNS name" if min_labels < 2 else "a fully qualified DNS name"
    return _name_problem(value, _DNS_LABEL, what, min_labels=min_labels, wildcard=wildcard)


def dkim_selector_problem(value):
    """Why ``value`` is not a DKIM selector (RFC 6376 3.1: dot-separated LDH labels), or None."""
    if not isinstance(value, str) or not value.strip():
        return "is empty: give a selector such as s1"
    if value != value.strip().lower():
        return "must be lower case without blanks (it names a DNS label and a key file)"
    return _name_problem(value, _LDH_LABEL, "a selector such as s1", top_level=False)


def canonical_name_problem(value):
    """Why a valid name is not in the form coldrig writes it (lower case, no blanks, no trailing dot), or None.

    For a name that is used as it is given (a node's host name, say) rather than normalised first.
    """
    if isinstance(value, str) and value != normalise_name(value):
        return "is not written in lower case without blanks or a trailing dot (%r)" % normalise_name(value)
    return None


def check_hostname(value, field):
    return _check(hostname_problem, value, field, normalise_name)


def check_fqdn(value, field):
    return _check(fqdn_problem, value, field, normalise_name)


def check_domain(value, field):
    return _check(domain_problem, value, field, normalise_name)


def check_dns_name(value, field, wildcard=True, min_labels=1):
    return _check(lambda v: dns_name_problem(v, wildcard, min_labels), value, field, normalise_name)


def check_dkim_selector(value, field):
    return _check(dkim_selector_problem, value, field)


# ------------------------------------------------------------- ports, sizes
def as_int(value):
    """An int from an int or a string of digits (templated values), else None; a bool is not an int."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.match(r"^\s*-?[0-9]+\s*$", value):
        return int(value.strip())
    return None


def port_problem(value):
    number = as_int(value)
    if number is None:
        return "is not a port number"
    if not 0 < number < 65536:
        return "is not a port from 1 to 65535"
    return None


def check_port(value, field):
    return _check(port_problem, value, field, as_int)


def int_range_problem(value, low, high=None):
    number = as_int(value)
    if number is None:
        return "is not a whole number"
    if number < low or (high is not None and number > high):
        return "is not from %d to %d" % (low, high) if high is not None else "is less than %d" % low
    return None


def check_int_range(value, field, low, high=None):
    return _check(lambda v: int_range_problem(v, low, high), value, field, as_int)


def quota_problem(value):
    """Why ``value`` is not a mailbox quota: digits and an optional unit B, K, M, G or T (1G, 512M)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return "is not a size such as 512M or 1G"
    if not _QUOTA.match(str(value).strip().upper()):
        return "is not a size such as 512M or 1G (digits, then an optional unit %s)" % ", ".join(QUOTA_UNITS)
    return None


def normalise_quota(value):
    """The quota as coldrig writes it: digits and an upper-case unit (``1g`` -> ``1G``)."""
    return str(value).strip().upper()


def quota_bytes(value):
    number, unit = _QUOTA.match(normalise_quota(value)).groups()
    return int(number) * 1024 ** (QUOTA_UNITS.index(unit) if unit else 0)


def check_quota(value, field):
    return _check(quota_problem, value, field, normalise_quota)


# ------------------------------------------------------------ mail identities
def local_part_problem(value):
    """Why ``value`` is not a local part coldrig makes (an RFC 5321 dot-atom subset), or None."""
    if not isinstance(value, str) or not value:
        return "is empty"
    if len(value) > LOCAL_PART_MAX:
        return "is %d characters long, at most %d are allowed (RFC 5321)" % (len(value), LOCAL_PART_MAX)
    bad = sorted(set(ch for ch in value if ch not in LOCAL_PART_CHARS))
    if bad:
        return "has %s: only lower-case a-z, 0-9, '.', '_' and '-' are allowed" % ", ".join(repr(ch) for ch in bad)
    if value.startswith(".") or value.endswith("."):
        return "starts or ends with a dot"
    if ".." in value:
        return "has two dots in a row"
    return None


def display_name_problem(value):
    """Why ``value`` cannot be a mailbox's display name (a passwd-file field has no escaping), or None."""
    if not isinstance(value, str):
        return "is not a string"
    if not value.strip():
        return "is empty"
    if ":" in value:
        return "contains ':', which separates the fields of Dovecot's passwd-file"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "contains a control character (a line break or a tab, say)"
    if len(value) > DISPLAY_NAME_MAX:
        return "is %d characters long, at most %d are allowed" % (len(value), DISPLAY_NAME_MAX)
    return None


def unix_user_problem(value, allow_root=False):
    """Why ``value`` is not a system user name coldrig may use, or None (root only when allowed)."""
    if not isinstance(value, str) or not _UNIX_USER.match(value):
        return "is not a user name (a-z, 0-9, '_' and '-', at most 32, starting with a letter or '_')"
    if value == "root" and not allow_root:
        return "is root (uid 0): give an unprivileged user"
    return None


# ------------------------------------------------------------------- secrets
def base64_problem(value):
    """Why ``value`` is not base64 (a TSIG secret, say), or None. The value itself is never quoted."""
    if not isinstance(value, str) or not value.strip():
        return "is empty"
    text = "".join(value.split())
    try:
        base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return "is not valid base64"
    return None


def check_secret_base64(value, field):
    """Like the other checks, but the error never quotes the value."""
    reason = base64_problem(value)
    if reason:
        error = ValidationError(field, "<secret>", reason)
        error.args = ("%s: the value %s" % (field, reason),)
        raise error
    return "".join(value.split())


# A Spamhaus Data Query Service key: "a 26-character code specific to each customer"
# (https://docs.spamhaustech.com/70-access-methods/data-query-service/020-dqs-auth.html).
_DQS_KEY = re.compile(r"^[A-Za-z0-9]{26}$")


def dqs_key_problem(value):
    """Why ``value`` is not a Spamhaus DQS key (26 letters and digits), or None. The value is never quoted."""
    if not isinstance(value, str) or not value.strip():
        return "is empty"
    if not _DQS_KEY.match(value.strip()):
        return "is not a Spamhaus DQS key (26 letters and digits, from the Spamhaus portal)"
    return None


def check_dqs_key(value, field):
    """The key without blanks, or ValidationError whose text never quotes the value."""
    reason = dqs_key_problem(value)
    if reason:
        error = ValidationError(field, "<secret>", reason)
        error.args = ("%s: the value %s" % (field, reason),)
        raise error
    return value.strip()


# A Cloudflare account id: 32 hexadecimal characters (the account's overview page in the dashboard).
_CLOUDFLARE_ID = re.compile(r"^[0-9a-f]{32}$")


def cloudflare_account_id_problem(value):
    """Why ``value`` is not a Cloudflare account id, or None."""
    if not isinstance(value, str) or not _CLOUDFLARE_ID.match(value.strip().lower()):
        return "is not a Cloudflare account id (32 hexadecimal characters, on the account's overview page)"
    return None
