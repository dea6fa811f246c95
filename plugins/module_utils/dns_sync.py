# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What coldrig.infra.dns_records does, shared by its module and its action plugin.

The action plugin runs this on the controller inside the Ansible worker: no module is
shipped and no Python started per zone, so a loop over 100 zones costs the HTTP or DNS
round trips and little else. The module runs the same code where a module is wanted
(e.g. delegated to a host that can reach a private DNS primary).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.coldrig.infra.plugins.module_utils.dns_records import (
    ConflictError,
    RecordError,
    SUPPORTED_TYPES,
    desired_records,
    diff_text,
    normalise_zone,
    plan_changes,
    rrsets_after,
)
from ansible_collections.coldrig.infra.plugins.module_utils.zone_backup import (
    DEFAULT_BACKUP_DIR,
    BackupError,
    read_backup,
    restore_plan,
    restored_scope,
    write_backup,
)

TSIG_ALGORITHMS = ("hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1", "hmac-md5")

RECORD_OPTIONS = dict(
    type=dict(type="str", required=True, choices=list(SUPPORTED_TYPES)),
    name=dict(type="str", default="@"),
    content=dict(type="str", aliases=["value"]),
    ttl=dict(type="int", default=3600),
    priority=dict(type="int"),
    purge=dict(type="bool"),
)

ARGUMENT_SPEC = dict(
    provider=dict(type="str", required=True, choices=["cloudflare", "rfc2136"]),
    zone=dict(type="str", required=True),
    records=dict(type="list", elements="dict", required=True, options=RECORD_OPTIONS),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    purge=dict(type="bool", default=False),
    on_conflict=dict(type="str", default="fail", choices=["fail", "replace"]),
    batch_size=dict(type="int", default=200),
    server=dict(type="str"),
    port=dict(type="int", default=53),
    tsig_key_name=dict(type="str", no_log=False),
    tsig_key_secret=dict(type="str", no_log=True),
    tsig_key_file=dict(type="path"),
    tsig_algorithm=dict(type="str", default="hmac-sha256", choices=list(TSIG_ALGORITHMS)),
    api_token=dict(type="str", no_log=True, fallback=("env_fallback", ["CLOUDFLARE_API_TOKEN"])),
    api_base_url=dict(type="str", default="https://api.cloudflare.com/client/v4"),
    timeout=dict(type="float", default=30.0),
    max_retries=dict(type="int", default=5),
    backup=dict(type="bool", default=True),
    backup_dir=dict(type="path", default=DEFAULT_BACKUP_DIR, fallback=("env_fallback", ["COLDRIG_DNS_BACKUP_DIR"])),
)
# coldrig.infra.dns_restore: the provider options of dns_records, and the backup file to put back.
RESTORE_SPEC = dict((key, value) for key, value in ARGUMENT_SPEC.items()
                    if key not in ("records", "state", "purge", "on_conflict"))
RESTORE_SPEC.update(src=dict(type="path", required=True), zone=dict(type="str"))
# coldrig.infra.dns_zones: the provider options of dns_records, and zones instead of zone + records.
ZONES_ARGUMENT_SPEC = dict((key, value) for key, value in ARGUMENT_SPEC.items() if key not in ("zone", "records"))
ZONES_ARGUMENT_SPEC.update(
    zones=dict(type="list", elements="dict", required=True, options=dict(
        zone=dict(type="str", required=True),
        records=dict(type="list", elements="dict", required=True, options=RECORD_OPTIONS),
    )),
    workers=dict(type="int", default=8),
)
MAX_BATCH_SIZE = 3500  # Cloudflare's batch limit on Pro, Business and Enterprise plans (Free: 200)
REQUIRED_IF = [("provider", "rfc2136", ["server"])]
MUTUALLY_EXCLUSIVE = [("tsig_key_secret", "tsig_key_file")]


class SyncFailure(Exception):
    """The run failed; ``result`` holds what is known (e.g. the requests sent)."""

    def __init__(self, msg, **result):
        super(SyncFailure, self).__init__(msg)
        self.result = result


def argument_spec(env_fallback, base=None):
    """ARGUMENT_SPEC (or ``base``) with the fallback callable that AnsibleModule and the validator expect."""
    spec = dict((key, dict(value)) for key, value in (base or ARGUMENT_SPEC).items())
    spec["api_token"]["fallback"] = (env_fallback, ["CLOUDFLARE_API_TOKEN"])
    spec["backup_dir"]["fallback"] = (env_fallback, ["COLDRIG_DNS_BACKUP_DIR"])
    return spec


def validate_args(args, env_fallback, base=None):
    """(params, None) or (None, error message without any no_log value), for the action plugins.

    Not ActionBase.validate_argument_spec: that one fails with the task's arguments attached to
    the error, and Ansible prints them, API token included.
    """
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator  # pylint: disable=import-outside-toplevel
    from ansible.module_utils.common.parameters import remove_values  # pylint: disable=import-outside-toplevel

    validator = ArgumentSpecValidator(argument_spec(env_fallback, base), mutually_exclusive=MUTUALLY_EXCLUSIVE,
                                      required_if=REQUIRED_IF)
    validation = validator.validate(dict(args))
    no_log_values = set(validation._no_log_values)  # pylint: disable=protected-access
    for key in ("api_token", "tsig_key_secret"):  # also when the spec could not even read them
        if isinstance(args.get(key), str) and args[key]:
            no_log_values.add(args[key])
    if validation.error_messages:
        return None, remove_values("; ".join(validation.error_messages), no_log_values)
    return validation.validated_parameters, None


def read_tsig_secret(params):
    if not params.get("tsig_key_file"):
        return params.get("tsig_key_secret")
    path = params["tsig_key_file"]
    try:
        with open(path) as handle:
            return handle.read().strip()
    except (IOError, OSError) as exc:
        raise SyncFailure("tsig_key_file: cannot read %s: %s" % (path, exc.strerror or exc))


def make_provider(params, secret, zone_ids=None, limiter=None, http=None):
    # Imported here: a Cloudflare run never loads dnspython, an RFC 2136 run never loads httpx.
    from ansible_collections.coldrig.infra.plugins.module_utils import dns_providers  # pylint: disable=import-outside-toplevel

    if params["provider"] == "rfc2136":
        from ansible_collections.coldrig.infra.plugins.module_utils import rfc2136  # pylint: disable=import-outside-toplevel
        if not rfc2136.HAS_DNSPYTHON:
            raise SyncFailure("the rfc2136 provider needs the Python library dnspython",
                              exception=rfc2136.DNSPYTHON_IMPORT_ERROR)
        if params.get("tsig_key_name") and not secret:
            raise SyncFailure("tsig_key_name is set, so tsig_key_secret or tsig_key_file is required")
        return dns_providers.Rfc2136Provider(params["server"], params["port"], params.get("tsig_key_name"), secret,
                                             params["tsig_algorithm"], params["timeout"])
    from ansible_collections.coldrig.infra.plugins.module_utils import cloudflare  # pylint: disable=import-outside-toplevel
    if not cloudflare.HAS_CLOUDFLARE_DEPS:
        raise SyncFailure("the cloudflare provider needs the Python libraries httpx and tenacity",
                          exception=cloudflare.CLOUDFLARE_DEPS_ERROR)
    if not params.get("api_token"):
        raise SyncFailure("api_token: required with provider=cloudflare (or set CLOUDFLARE_API_TOKEN)")
    if not 1 <= params["batch_size"] <= MAX_BATCH_SIZE:
        raise SyncFailure("batch_size: %d is not between 1 and %d (Cloudflare takes 200 changes per batch on the Free "
                          "plan, 3500 on paid plans)" % (params["batch_size"], MAX_BATCH_SIZE))
    return dns_providers.CloudflareProvider(params["api_token"], params["api_base_url"], params["timeout"],
                                            params["max_retries"], params["batch_size"], zone_ids, limiter, http)


def save_backup(params, zone, provider, current):
    """Write the zone as read before a write; returns (JSON path, zone file path), or (None, None) with backup=false."""
    if not params.get("backup", True):
        return None, None
    records = provider.zone_records
    complete = records is not None
    try:
        return write_backup(params.get("backup_dir"), zone, params["provider"], records if complete else current,
                            complete=complete)
    except BackupError as exc:
        raise SyncFailure(str(exc), requests=provider.requests)


def sync_zone(params, check_mode=False, want_diff=False, zone_ids=None, limiter=None, http=None):
    """Make one zone's records match params["records"]; return the module result (no secrets in it).

    ``zone_ids`` ({name: id} from one listing), ``limiter`` (a shared rate limiter) and ``http``
    (a shared connection pool) come from sync_zones when many zones are pushed in one run.
    """
    from ansible_collections.coldrig.infra.plugins.module_utils.dns_providers import ProviderError  # pylint: disable=import-outside-toplevel

    try:
        zone = normalise_zone(params["zone"])
        desired = desired_records(params["records"], zone, params["state"], provider=params["provider"])
    except RecordError as exc:
        raise SyncFailure(str(exc))
    pairs = []
    for record in desired:
        if record.pair not in pairs:
            pairs.append(record.pair)

    secret = read_tsig_secret(params)
    try:
        provider = make_provider(params, secret, zone_ids, limiter, http)
    except ProviderError as exc:
        raise SyncFailure("%s: %s" % (params["provider"], exc))
    on_conflict = params.get("on_conflict") or "fail"
    batches = 0
    backup = backup_zone_file = None
    complete = True
    try:
        current = provider.read(zone, pairs)
        try:
            plan = plan_changes(desired, current, params["state"], params["purge"], on_conflict, zone)
        except ConflictError as exc:
            raise SyncFailure(str(exc), conflicts=[r.as_dict(zone) for r in exc.conflicts], requests=provider.requests)
        except RecordError as exc:
            raise SyncFailure(str(exc), requests=provider.requests)
        if plan.changed and not check_mode:
            complete = provider.zone_records is not None
            backup, backup_zone_file = save_backup(params, zone, provider, current)
            batches = provider.apply(zone, current, plan)
    except ProviderError as exc:
        failure = dict(requests=provider.requests, batches=exc.batches, applied=exc.applied, backup=backup)
        if exc.applied != "none":
            failure["changed"] = True  # the zone may have changed: say so, never "unchanged"
        raise SyncFailure("%s: %s" % (params["provider"], exc), **failure)
    finally:
        provider.close()

    touched = list(pairs)
    for record in plan.delete:
        if record.pair not in touched:
            touched.append(record.pair)
    after = dict((pair, [r for r in current if r.pair == pair]) for pair in touched)
    after.update(rrsets_after(current, plan))
    after_records = [r for pair in pairs for r in after[pair]]
    summary = plan.summary(zone)
    result = dict(
        changed=plan.changed,
        added=summary["added"],
        updated=summary["changed"],
        removed=summary["removed"],
        extras_removed=summary["extras"],
        conflicts_removed=summary["conflicts"],
        records=[r.as_dict(zone) for r in after_records],
        requests=provider.requests,
        batches=batches,
        atomic=batches <= 1,
        backup=backup,
        backup_zone_file=backup_zone_file,
    )
    warnings = []
    if backup and not complete:
        warnings.append("%s: the server refused the zone transfer (AXFR), so the backup %s holds only the records "
                        "at the managed names" % (zone, backup))
    for record in plan.extras:
        warnings.append("%s: removed a second %s value at %s, %r: a name holds one such value (two SPF records are a "
                        "permanent error, two DMARC records make DMARC ignored)" % (zone, record.slot, record.name,
                                                                                    record.content))
    for record in plan.conflicts:
        warnings.append("%s: removed the %s record %s %r because on_conflict=replace and a desired record "
                        "cannot coexist with it" % (zone, record.type, record.name, record.content))
    if batches > 1:
        warnings.append("%s: the %d changes went to Cloudflare in %d batches of at most %d, so the write was not "
                        "atomic across batches; if a run stops between them, run it again to finish"
                        % (zone, plan.size, batches, params["batch_size"]))
    if warnings:
        result["warnings"] = warnings
    if want_diff:
        header = "%s (%s)" % (zone, params["provider"])
        before_records = [r for pair in touched for r in current if r.pair == pair]
        all_after = [r for pair in touched for r in after[pair]]
        result["diff"] = dict(before=diff_text(before_records, zone), after=diff_text(all_after, zone),
                              before_header=header, after_header=header)
    return result


def restore_zone(params, check_mode=False, want_diff=False):
    """Make a zone's records equal to a backup file's, in one write; return the module result (no secrets in it)."""
    from ansible_collections.coldrig.infra.plugins.module_utils.dns_providers import ProviderError  # pylint: disable=import-outside-toplevel

    try:
        zone, _source, complete, wanted = read_backup(params["src"])
        if params.get("zone") and normalise_zone(params["zone"]) != zone:
            raise SyncFailure("zone: %r is not the zone of the backup %s, which is %s: give that zone's backup, or "
                              "leave zone out" % (params["zone"], params["src"], zone))
    except (BackupError, RecordError) as exc:
        raise SyncFailure(str(exc))
    # a backup of the whole zone is compared with the whole zone; one of the managed names only, at those pairs
    scope = None if complete else set(r.pair for r in wanted)
    pairs = sorted(set(r.pair for r in wanted)) or [(zone, "SOA")]
    secret = read_tsig_secret(params)
    try:
        provider = make_provider(params, secret)
    except ProviderError as exc:
        raise SyncFailure("%s: %s" % (params["provider"], exc))
    batches = 0
    backup = backup_zone_file = None
    try:
        current = provider.read(zone, pairs)
        if complete:
            if provider.zone_records is None:
                raise SyncFailure("src: %s holds the whole zone %s, but %s refused the zone transfer (AXFR), so the "
                                  "zone cannot be read whole to put it back: allow the TSIG key to transfer the zone"
                                  % (params["src"], zone, params["provider"]), requests=provider.requests)
            current = list(provider.zone_records)
        plan = restore_plan(wanted, current, zone, scope)
        if plan.changed and not check_mode:
            backup, backup_zone_file = save_backup(params, zone, provider, current)
            batches = provider.apply(zone, current, plan)
    except ProviderError as exc:
        failure = dict(requests=provider.requests, batches=exc.batches, applied=exc.applied, backup=backup)
        if exc.applied != "none":
            failure["changed"] = True  # the zone may have changed: say so, never "unchanged"
        raise SyncFailure("%s: %s" % (params["provider"], exc), **failure)
    finally:
        provider.close()
    summary = plan.summary(zone)
    result = dict(changed=plan.changed, zone=zone, src=params["src"], added=summary["added"],
                  updated=summary["changed"], removed=summary["removed"], requests=provider.requests, batches=batches,
                  atomic=batches <= 1, backup=backup, backup_zone_file=backup_zone_file)
    if batches > 1:
        result["warnings"] = ["%s: the %d changes went to Cloudflare in %d batches of at most %d, so the restore was "
                              "not atomic across batches; if a run stops between them, run it again to finish"
                              % (zone, plan.size, batches, params["batch_size"])]
    if want_diff:
        header = "%s (%s)" % (zone, params["provider"])
        before = [r for r in current if restored_scope(r, zone) and (scope is None or r.pair in scope)]
        after = [r for r in wanted if restored_scope(r, zone) and (scope is None or r.pair in scope)]
        result["diff"] = dict(before=diff_text(before, zone), after=diff_text(after, zone),
                              before_header=header, after_header=header)
    return result


DEFAULT_WORKERS = 8


def sync_zones(params, zones, workers=DEFAULT_WORKERS, check_mode=False, want_diff=False):
    """Push many zones (``zones``: [{zone, records}]) with the provider settings of ``params``.

    The zones go concurrently, ``workers`` at a time. On Cloudflare the ids of all zones come
    from one paginated listing (not a lookup per zone), and every request of the run goes
    through one rate limiter under Cloudflare's 1,200 requests per 5 minutes. Every zone is
    tried, whatever another zone does; returns (results in the order given, requests of the
    listing). A zone that failed has ``failed`` and ``msg`` in its result.
    """
    import concurrent.futures  # pylint: disable=import-outside-toplevel
    from ansible_collections.coldrig.infra.plugins.module_utils.dns_providers import (  # pylint: disable=import-outside-toplevel
        CloudflareProvider,
        ProviderError,
    )

    zone_ids, limiter, listing_requests, listing_client = None, None, 0, None
    if params["provider"] == "cloudflare" and zones:
        from ansible_collections.coldrig.infra.plugins.module_utils.cloudflare import RateLimiter  # pylint: disable=import-outside-toplevel
        if not params.get("api_token"):
            raise SyncFailure("api_token: required with provider=cloudflare (or set CLOUDFLARE_API_TOKEN)")
        limiter = RateLimiter()
        try:
            zone_ids, listing_requests, listing_client = CloudflareProvider.zone_listing(
                params["api_token"], params["api_base_url"], params["timeout"], params["max_retries"], limiter)
        except ProviderError as exc:
            raise SyncFailure("cloudflare: listing the account's zones: %s" % exc, requests=1)

    def one(entry):
        zone_params = dict(params, zone=entry["zone"], records=entry["records"])
        try:
            result = sync_zone(zone_params, check_mode, want_diff, zone_ids, limiter,
                               listing_client.http if listing_client is not None else None)
        except SyncFailure as exc:
            result = dict(exc.result)
            result.pop("exception", None)
            result.update(failed=True, msg=str(exc))
        except Exception as exc:  # pylint: disable=broad-except
            result = dict(failed=True, msg="%s: %s: %s" % (entry["zone"], type(exc).__name__, exc))
        result["zone"] = str(entry.get("zone") or "").strip().rstrip(".").lower()
        return result

    workers = max(1, min(int(workers), len(zones) or 1))
    try:
        if workers == 1:
            return [one(entry) for entry in zones], listing_requests
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(one, zones)), listing_requests
    finally:
        if listing_client is not None:
            listing_client.close()


def zones_result(params, check_mode=False, want_diff=False):
    """coldrig.infra.dns_zones' result: every zone's result, the totals, and failed/msg when a zone failed."""
    results, listing_requests = sync_zones(params, params["zones"], params.get("workers") or DEFAULT_WORKERS,
                                           check_mode, want_diff)
    failed = [r for r in results if r.get("failed")]
    result = dict(
        changed=any(r.get("changed") for r in results),
        zones=results,
        requests=listing_requests + sum(int(r.get("requests") or 0) for r in results),
        listing_requests=listing_requests,
        changed_zones=[r["zone"] for r in results if r.get("changed")],
        failed_zones=[r["zone"] for r in failed],
    )
    warnings = [w for r in results for w in r.pop("warnings", [])]
    if warnings:
        result["warnings"] = warnings
    if want_diff:
        result["diff"] = [r.pop("diff") for r in results if r.get("diff")]
    if failed:
        result["failed"] = True
        result["msg"] = "%d of %d zone(s) failed (the others were pushed): %s" % (
            len(failed), len(results), "; ".join("%s: %s" % (r["zone"], r.get("msg")) for r in failed))
    return result
