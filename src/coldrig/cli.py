"""The ``coldrig`` command."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from coldrig import __version__
from coldrig.lab.config import LabConfig
from coldrig.lab.errors import LabError
from coldrig.lab.lab import Lab


def _lab(args: argparse.Namespace) -> Lab:
    config = LabConfig()
    if args.lab_dir:
        config.lab_dir = Path(args.lab_dir)
    for field in ("memory_mb", "cpus", "domain", "accel", "dns_port", "image"):
        value = getattr(args, field, None)
        if value is not None:
            setattr(config, field, value)
    if getattr(args, "zone", None):
        config.extra_zones = tuple(args.zone)
    return Lab(config)


def cmd_up(args: argparse.Namespace) -> int:
    lab = _lab(args)
    data = lab.up(args.nodes)
    print(f"==> lab up: {len(data['nodes'])} node(s), DNS on "
          f"{data['dns']['server']}:{data['dns']['port']}, ACME directory {data['acme']['directory']}; "
          f"state: {lab.state.path}")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    _lab(args).down(args.node or None)
    return 0


def _size(num: int) -> str:
    return f"{num / 2**20:.0f} MiB" if num else "-"


def cmd_status(args: argparse.Namespace) -> int:
    lab = _lab(args)
    data = lab.status()
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True))
        return 0
    if not data["nodes"] and "dns" not in data:
        print(f"no lab in {lab.dir} (`coldrig lab up` starts one)")
        return 0
    rows = [("NODE", "STATE", "FQDN", "ADDRESS", "SSH", "ACCEL", "MEMORY", "RSS")]
    for node in data["nodes"].values():
        rows.append((
            node["name"], "running" if node["running"] else "stopped", node["fqdn"],
            node["address"], str(node["ports"]["ssh"]), node["accel"],
            f"{node['memory_mb']} MiB", _size(node["rss_bytes"]),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    dns = data.get("dns")
    if dns:
        print(f"\nDNS: {'running' if dns['running'] else 'stopped'} on {dns['server']}:{dns['port']}"
              f" (TSIG key {dns['tsig_key_name']}, {dns['tsig_algorithm']}); zones: "
              + ", ".join(dns["zones"]))
    acme = data.get("acme")
    if acme:
        print(f"ACME: {'running' if acme['running'] else 'stopped'} (pebble) on {acme['directory']}, "
              f"from nodes {acme['node_directory']}; management port {acme['management_port']}\n"
              f"      API CA {acme['api_ca_file']}; issuing root {acme['root_file']} (new at every start)")
    return 0


def cmd_ssh(args: argparse.Namespace) -> int:
    command = _lab(args).ssh_command(args.node, args.command, user=args.user)
    sys.stdout.flush()
    os.execvp(command[0], command)
    return 127  # not reached


def cmd_reset(args: argparse.Namespace) -> int:
    seconds = _lab(args).reset(args.node)
    print(f"==> {args.node}: reset in {seconds:.1f} s")
    return 0


def cmd_zone_add(args: argparse.Namespace) -> int:
    added = _lab(args).zone_add(args.zones)
    print("==> zones added: " + ", ".join(added) if added else "==> every zone was served already")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from coldrig.serve.config import ConfigError  # pylint: disable=import-outside-toplevel
    from coldrig.serve.server import serve  # pylint: disable=import-outside-toplevel

    try:
        return serve(args.config, args.bind, args.dispatch)
    except ConfigError as exc:
        print(f"coldrig serve: error: {exc}", file=sys.stderr)
        return 2


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="coldrig", description=__doc__)
    top.add_argument("--version", action="version", version=f"coldrig {__version__}")
    sub = top.add_subparsers(dest="command", required=True)

    lab = sub.add_parser("lab", help="local QEMU nodes, a real DNS server and an ACME server")
    lab_sub = lab.add_subparsers(dest="lab_command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--lab-dir", help="the lab's directory (default: $COLDRIG_LAB_DIR or "
                        "~/.local/state/coldrig/lab)")

    up = lab_sub.add_parser("up", parents=[common], help="start the lab (idempotent)")
    up.add_argument("--nodes", type=int, default=1, help="how many nodes (default 1)")
    up.add_argument("--memory", dest="memory_mb", type=int, help="MiB per node (default 1024)")
    up.add_argument("--cpus", type=int, help="vCPUs per node (default 2)")
    up.add_argument("--domain", help="the nodes' DNS zone (default lab.coldrig.test)")
    up.add_argument("--zone", action="append", help="another zone for the DNS server (repeatable)")
    up.add_argument("--dns-port", type=int,
                    help="port of the lab DNS server on 127.0.0.1 (default: first free from 10053)")
    up.add_argument("--image", choices=["base", "mail"],
                    help="base: a bare Debian 12 (default); mail: with the harden and postfix roles' packages "
                         "installed, which saves the tests minutes of emulated dpkg (default: $COLDRIG_LAB_IMAGE)")
    up.add_argument("--accel", choices=["auto", "kvm", "tcg"],
                    help="auto probes KVM once and falls back to TCG (default auto)")
    up.set_defaults(func=cmd_up)

    down = lab_sub.add_parser("down", parents=[common], help="stop nodes; with no NODE, the whole lab")
    down.add_argument("node", nargs="*")
    down.set_defaults(func=cmd_down)

    status = lab_sub.add_parser("status", parents=[common], help="show nodes, the DNS and the ACME server")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)

    ssh = lab_sub.add_parser("ssh", parents=[common], help="SSH to a node as root")
    ssh.add_argument("--user", help="log in as this user (default: root, or once the harden role has "
                     "turned root's login off, its admin user with sudo)")
    ssh.add_argument("node")
    ssh.add_argument("command", nargs=argparse.REMAINDER)
    ssh.set_defaults(func=cmd_ssh)

    reset = lab_sub.add_parser("reset", parents=[common], help="boot a node fresh from the image")
    reset.add_argument("node")
    reset.set_defaults(func=cmd_reset)

    zone = lab_sub.add_parser("zone", help="zones of the lab DNS server")
    zone_sub = zone.add_subparsers(dest="zone_command", required=True)
    zone_add = zone_sub.add_parser("add", parents=[common], help="serve more zones")
    zone_add.add_argument("zones", nargs="+")
    zone_add.set_defaults(func=cmd_zone_add)

    serve = sub.add_parser("serve", help="the signed web hook that runs onboardings through ansible-runner "
                           "(docs/serve.md)")
    serve.add_argument("--config", help="a TOML settings file (default: $COLDRIG_SERVE_CONFIG); "
                       "COLDRIG_SERVE_* variables override it")
    serve.add_argument("--bind", help="host:port to listen on (default 127.0.0.1:8787)")
    serve.add_argument("--dispatch", choices=("local", "awx"),
                       help="where runs go: local ansible-runner (the default) or an AWX job template (docs/awx.md)")
    serve.set_defaults(func=cmd_serve)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except LabError as exc:
        print(f"coldrig: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("coldrig: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
