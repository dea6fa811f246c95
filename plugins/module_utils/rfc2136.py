# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""RFC 2136 dynamic updates with dnspython: read a zone, apply a plan in one UPDATE.

The zone is read with a TSIG-signed AXFR (one round trip for the whole zone); a
server that refuses the transfer is asked for each managed (name, type) pair over TCP
instead, and for the CNAME (or, where a CNAME goes, every type) at each managed name.
All changes of one zone go into a single UPDATE message, which the server applies
atomically: a refused update changes nothing.

NOERROR does not prove that the change was made: a server silently skips an update
that RFC 2136 3.4.2.2 tells it to ignore (e.g. data added at a name that holds a
CNAME; Knot does so). So after the UPDATE the managed names are read back, and a
change that is not there fails the run, naming what is missing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdata
    import dns.rdataclass
    import dns.rdatatype
    import dns.tsig
    import dns.tsigkeyring
    import dns.update
    import dns.xfr
    import dns.zone
    HAS_DNSPYTHON = True
    DNSPYTHON_IMPORT_ERROR = None
except ImportError:
    HAS_DNSPYTHON = False
    DNSPYTHON_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.coldrig.infra.plugins.module_utils.dns_records import (
    HOST_TYPES,
    Record,
    normalise_content,
    rrsets_after,
    txt_presentation,
)


class Rfc2136Error(Exception):
    """A failure talking to the primary server; the message says what to check.

    ``applied`` is "none" when the server clearly did not apply an update, "unknown" when it may have.
    """

    def __init__(self, msg, applied="none"):
        super(Rfc2136Error, self).__init__(msg)
        self.applied = applied


# Records that DNSSEC signing adds; they are the server's, never the module's.
DNSSEC_TYPES = ("RRSIG", "NSEC", "NSEC3", "NSEC3PARAM", "DNSKEY", "CDS", "CDNSKEY")


def record_from_rdata(fqdn, rdata, ttl):
    rtype = dns.rdatatype.to_text(rdata.rdtype)
    priority = None
    if rtype == "TXT":
        content = b"".join(rdata.strings).decode("utf-8", errors="replace")
    elif rtype == "MX":
        priority = rdata.preference
        content = rdata.exchange.to_text(omit_final_dot=True)
    elif rtype == "SRV":
        priority = rdata.priority
        content = "%d %d %s" % (rdata.weight, rdata.port, rdata.target.to_text(omit_final_dot=True))
    elif rtype in HOST_TYPES:
        content = rdata.target.to_text(omit_final_dot=True)
    else:
        content = rdata.to_text()
    return Record(fqdn, rtype, normalise_content(rtype, content), ttl, priority)


def rdata_text(record):
    """The presentation format of a Record's data, for dns.rdata.from_text."""
    if record.type == "TXT":
        return txt_presentation(record.content)
    if record.type == "MX":
        return "%d %s." % (record.priority, record.content)
    if record.type == "SRV":
        weight, port, target = record.content.split()
        return "%d %s %s %s." % (record.priority, weight, port, target.rstrip("."))
    if record.type in HOST_TYPES:
        return record.content + "."
    return record.content


class Rfc2136Client(object):
    def __init__(self, server, port=53, key_name=None, key_secret=None, algorithm="hmac-sha256", timeout=10.0):
        if not HAS_DNSPYTHON:
            raise Rfc2136Error("dnspython is required for the rfc2136 provider")
        self.server = server
        self.port = port
        self.timeout = timeout
        self.algorithm = algorithm
        self.key_name = key_name
        self.keyring = None
        self.queries = 0
        self.zone_records = None  # every record of the zone from the last read, when AXFR worked
        if key_name:
            try:
                self.keyring = dns.tsigkeyring.from_text({key_name: (algorithm, key_secret)})
            except Exception as exc:  # binascii.Error and friends: the secret is not base64
                raise Rfc2136Error("tsig_key_secret: not a valid base64 TSIG secret (%s)" % type(exc).__name__)

    def _where(self):
        return "%s port %s" % (self.server, self.port)

    def _signed(self, message):
        if self.keyring:
            message.use_tsig(self.keyring, keyname=self.key_name, algorithm=self.algorithm)
        return message

    def _failure(self, exc):
        """An Rfc2136Error that says what to check, for a transport or TSIG failure."""
        if isinstance(exc, dns.tsig.PeerBadKey):
            return Rfc2136Error("%s does not know the TSIG key %r (BADKEY): check tsig_key_name"
                                % (self._where(), self.key_name))
        if isinstance(exc, (dns.tsig.PeerBadSignature, dns.tsig.BadSignature)):
            return Rfc2136Error("%s rejected the TSIG signature (BADSIG): check tsig_key_secret and tsig_algorithm"
                                % self._where())
        if isinstance(exc, dns.tsig.PeerBadTime):
            return Rfc2136Error("%s rejected the TSIG time (BADTIME): the clocks differ by more than the fudge"
                                % self._where())
        if isinstance(exc, dns.exception.Timeout):
            return Rfc2136Error("%s did not answer within %s s" % (self._where(), self.timeout))
        return Rfc2136Error("cannot reach %s: %s" % (self._where(), getattr(exc, "strerror", None) or exc))

    def _tcp(self, message, write=False):
        self.queries += 1
        try:
            return dns.query.tcp(message, self.server, port=self.port, timeout=self.timeout)
        except (dns.tsig.PeerError, dns.tsig.BadSignature, dns.exception.Timeout, EOFError, OSError) as exc:
            never_sent = isinstance(exc, (ConnectionRefusedError, dns.tsig.PeerError, dns.tsig.BadSignature))
            if write and not never_sent:
                # The UPDATE went out and no answer came back: the server may have applied it.
                raise Rfc2136Error("the update was sent to %s but no answer came back (%s: %s), so it may have been applied; "
                                   "run again to converge" % (self._where(), type(exc).__name__, exc or "no details"),
                                   applied="unknown")
            raise self._failure(exc)

    def read(self, zone, pairs):
        """Current records of the zone at the names of the given (fqdn, type) pairs, of every type."""
        try:
            records = self._axfr(zone)
        except Rfc2136Error:
            raise
        except (dns.exception.DNSException, EOFError, ConnectionError):
            records = None
        self.zone_records = records
        if records is None:
            records = self._query_pairs(zone, self._pairs_to_ask(pairs))
        names = set(name for name, _rtype in pairs)
        return [r for r in records if r.name in names]

    @staticmethod
    def _pairs_to_ask(pairs):
        """Without AXFR: the managed pairs, the CNAME at each managed name, and every type where a CNAME goes."""
        asked = set(pairs)
        for name, rtype in pairs:
            asked.add((name, "CNAME"))
            if rtype == "CNAME":
                asked.update((name, other) for other in ("A", "AAAA", "CAA", "MX", "NS", "PTR", "SRV", "TXT"))
        return asked

    def _axfr(self, zone):
        self.queries += 1
        try:
            transfer = dns.query.xfr(self.server, zone, port=self.port, keyring=self.keyring, keyname=self.key_name,
                                     keyalgorithm=self.algorithm, lifetime=self.timeout, relativize=False)
            zone_data = dns.zone.from_xfr(transfer, relativize=False)
        except dns.xfr.TransferError as exc:
            if exc.rcode == dns.rcode.NOTAUTH:
                raise Rfc2136Error("%s is not authoritative for the zone %s (NOTAUTH)" % (self._where(), zone))
            return None
        except (dns.tsig.PeerError, dns.tsig.BadSignature, dns.exception.Timeout, OSError) as exc:
            raise self._failure(exc)
        records = []
        for name, node in zone_data.nodes.items():
            fqdn = name.to_text(omit_final_dot=True).lower()
            for rdataset in node.rdatasets:
                for rdata in rdataset:
                    rtype = dns.rdatatype.to_text(rdataset.rdtype)
                    if rtype == "SOA" or rtype in DNSSEC_TYPES:
                        continue
                    records.append(record_from_rdata(fqdn, rdata, rdataset.ttl))
        return records

    def _query_pairs(self, zone, pairs):
        records = []
        for fqdn, rtype in sorted(set(pairs)):
            query = self._signed(dns.message.make_query(fqdn + ".", rtype))
            query.flags &= ~dns.flags.RD
            response = self._tcp(query)
            if response.rcode() == dns.rcode.NXDOMAIN:
                continue
            if response.rcode() != dns.rcode.NOERROR:
                raise Rfc2136Error("%s answered %s for %s %s in zone %s" % (
                    self._where(), dns.rcode.to_text(response.rcode()), fqdn, rtype, zone))
            for rrset in response.answer:
                # the answer to a TXT question at a CNAME is the CNAME (and what it points to): keep what is at fqdn
                same_name = rrset.name.to_text(omit_final_dot=True).lower() == fqdn
                if same_name and dns.rdatatype.to_text(rrset.rdtype) == rtype:
                    records.extend(record_from_rdata(fqdn, rdata, rrset.ttl) for rdata in rrset)
        return records

    def apply(self, zone, current, plan):
        """Send the whole plan as one UPDATE message (atomic on the server), then check that it was applied."""
        if not plan.changed:
            return
        after = rrsets_after(current, plan)
        changed = plan.add + [new for _old, new in plan.update]
        # One RRset has one TTL: the one the new or changed records ask for.
        ttls = dict((pair, next((r.ttl for r in changed if r.pair == pair), records[0].ttl if records else None))
                    for pair, records in after.items())
        update = dns.update.UpdateMessage(zone + ".", keyring=self.keyring, keyname=self.key_name,
                                          keyalgorithm=self.algorithm)
        # Every delete before any add: the server processes the update section in order (RFC 2136 3.4.2),
        # and ignores a CNAME added where other data still is, or data added where a CNAME still is.
        for fqdn, rtype in sorted(after):
            update.delete(dns.name.from_text(fqdn + "."), rtype)
        for (fqdn, rtype), records in sorted(after.items()):
            if records:
                rdatas = [dns.rdata.from_text(dns.rdataclass.IN, rtype, rdata_text(r)) for r in records]
                update.add(dns.name.from_text(fqdn + "."), ttls[(fqdn, rtype)], *rdatas)
        response = self._tcp(update, write=True)
        rcode = response.rcode()
        if rcode != dns.rcode.NOERROR:
            reasons = {
                dns.rcode.REFUSED: "the server's policy refuses this update (check its ACL for the TSIG key)",
                dns.rcode.NOTAUTH: "the server is not authoritative for the zone or the TSIG key is not accepted",
                dns.rcode.NOTZONE: "a record is outside the zone",
                dns.rcode.SERVFAIL: "the server failed to apply it",
            }
            raise Rfc2136Error("%s refused the update of %s: %s (%s); nothing was changed" % (
                self._where(), zone, dns.rcode.to_text(rcode), reasons.get(rcode, "see the server's log")))
        self.check_applied(zone, after, ttls)

    def check_applied(self, zone, after, ttls):
        """Read the changed names back; an Rfc2136Error naming what the server did not apply."""
        records = self.read(zone, list(after))
        missing, left = [], []
        for pair, expected in sorted(after.items()):
            now = dict((r.key, r) for r in records if r.pair == pair)
            for record in expected:
                found = now.pop(record.key, None)
                if found is None or found.ttl != ttls[pair]:
                    missing.append(Record(record.name, record.type, record.content, ttls[pair], record.priority))
            left.extend(now.values())
        if not missing and not left:
            return
        parts = []
        if missing:
            parts.append("missing: %s" % "; ".join(_show(r) for r in missing))
        if left:
            parts.append("still there: %s" % "; ".join(_show(r) for r in left))
        raise Rfc2136Error("%s answered NOERROR to the update of %s but did not apply it (%s). A server ignores data "
                           "added at a name that has a CNAME, and a CNAME added beside other data (RFC 2136 3.4.2.2): "
                           "check the zone at those names, then run again" % (self._where(), zone, ", ".join(parts)),
                           applied="unknown")


def _show(record):
    content = record.content
    if record.priority is not None:
        content = "%s %s" % (record.priority, content)
    return "%s %s %s (ttl %s)" % (record.name, record.type, content, record.ttl)
