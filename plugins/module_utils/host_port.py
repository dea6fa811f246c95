# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``host[:port]`` as operators write it: one parser for every option that takes a server.

Plain Python with no third-party import, so modules that run on the node (``egress_check``)
can use it as well as those that run on the controller (``mail_check``'s DNS servers).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def parse_host_port(text, default_port):
    """(host, port) from ``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address; ValueError when malformed."""
    text = (text or "").strip()
    if not text:
        raise ValueError("empty: give a host, host:port or [IPv6 address]:port")
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError("%r: write an IPv6 address with a port as [address]:port" % text)
        port = rest[1:] if rest else None
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, None  # a name, or a bare IPv6 address
    if not host:
        raise ValueError("%r: the host is missing" % text)
    if port is None:
        return host, default_port
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("%r: %r is not a port" % (text, port))
    return host, int(port)
