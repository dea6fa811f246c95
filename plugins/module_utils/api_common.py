# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What coldrig's API clients share: the Hetzner Cloud (``hcloud``), DigitalOcean (``digitalocean``)
and Cloudflare (``cloudflare``) clients.

Reading a ``Retry-After`` header, filter values given as one value or a list, the MD5
fingerprint both cloud providers give an OpenSSH public key, and polling a resource until its
status is one of those wanted. Each client keeps its own errors: these helpers return what
they found and leave the error, with the provider's words, to the caller.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import email.utils
import hashlib
import time


def retry_after(value, now=None):
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def as_list(value):
    """A filter value as a list: [] for None or "", the non-empty items of a list, tuple or set, else [value]."""
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return [v for v in value if v not in (None, "")]
    return [value]


def openssh_fingerprint(public_key):
    """The MD5 fingerprint of an OpenSSH public key line, colon-separated hex (what ``ssh-keygen -l -E md5`` prints).

    Hetzner Cloud and DigitalOcean both identify keys by it. None when the line is not
    ``TYPE BASE64 [COMMENT]`` with a key blob of that type.
    """
    parts = (public_key or "").strip().split()
    try:
        blob = base64.b64decode(parts[1].encode("ascii"), validate=True) if len(parts) >= 2 else b""
    except (binascii.Error, ValueError, UnicodeEncodeError):
        blob = b""
    declared = parts[0] if parts else ""
    length = int.from_bytes(blob[:4], "big") if len(blob) >= 4 else -1
    if not blob or blob[4:4 + length].decode("ascii", "replace") != declared:
        return None
    digest = hashlib.md5(blob).hexdigest()  # nosec - the fingerprint the providers document, not a security check
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def poll_status(reload, resource, statuses, timeout, interval):
    """Reload ``resource`` until its ``status`` is one of ``statuses``.

    (the reloaded resource, True); after ``timeout`` seconds (the resource as last read, False).
    """
    deadline = time.monotonic() + timeout
    while True:
        resource = reload(resource)
        if resource.status in statuses:
            return resource, True
        if time.monotonic() >= deadline:
            return resource, False
        time.sleep(interval)


def made_anyway(exc, lookup, name, kind, error_type):
    """What ``lookup(name)`` finds after a create request that failed with ``exc``; else ``exc`` is raised.

    A 5xx, or an answer that never came, may follow a resource that was made: the create is not
    sent again (it could make a second one, or be refused as a name taken); the resource is looked
    up by name instead. ``exc`` and errors of ``error_type`` carry ``status`` and ``message``.
    """
    if exc.status is not None and exc.status < 500:
        raise exc
    try:
        found = lookup(name)
    except error_type as failure:
        exc.message += "; the %s may have been made, and looking for it failed too (%s): run again" % (
            kind, failure.message)
        raise exc from None
    if found is None:
        exc.message += "; no %s named %s was made: run again" % (kind, name)
        raise exc
    return found
