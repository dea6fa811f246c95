"""``coldrig lab``: bring the lab up, show it, reset a node, take it down."""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from coldrig.lab import accel, prereq, qemu, ssh
from coldrig.lab.acme import AcmeServer
from coldrig.lab.config import FORWARDS, NODE_NET_PREFIX, LabConfig, reverse_zone
from coldrig.lab.dns import SERVER as DNS_SERVER
from coldrig.lab.dns import TSIG_ALGORITHM, TSIG_KEY_NAME, DnsServer
from coldrig.lab.errors import LabError
from coldrig.lab.image import Image, ImageBuilder
from coldrig.lab.state import STATE_VERSION, LabState

# The admin user the harden role makes (harden_admin_user's default); `lab ssh` logs in
# as it once root is refused.
ADMIN_USER = os.environ.get("COLDRIG_ADMIN_USER", "coldrig")

DEFAULT_LABELS = {"coldrig_role": "mta", "coldrig_fleet": "lab"}


def _say(message: str) -> None:
    print(message, flush=True)


def node_names(count: int) -> list[str]:
    return [f"node{i}" for i in range(1, count + 1)]


def allocate_address(used: set[str], first: int = 1) -> str:
    """The lowest node address not used by this lab whose forwarded ports are all free."""
    for host in range(first, 255):
        address = f"{NODE_NET_PREFIX}{host}"
        if address in used:
            continue
        if all(prereq.port_free(address, port) for port, _guest in FORWARDS.values()):
            return address
    raise LabError(f"no free node address in {NODE_NET_PREFIX}0/24: run `coldrig lab down` "
                   "for labs left running")


class Lab:
    def __init__(self, config: LabConfig | None = None, say: Callable[[str], None] = _say):
        self.config = config or LabConfig()
        self.dir = self.config.lab_dir
        self.state = LabState(self.dir)
        self.say = say
        self.key = self.dir / "ssh" / "id_ed25519"
        self.known_hosts = self.dir / "ssh" / "known_hosts"
        self.lab_id = hashlib.sha256(str(self.dir.resolve()).encode()).hexdigest()[:8]

    # -- helpers -----------------------------------------------------------
    def _node_dir(self, name: str) -> Path:
        return self.dir / "nodes" / name

    def _alive(self, node: dict) -> bool:
        return qemu.is_ours(node.get("pid"), qemu.process_name(self.lab_id, node["name"]))

    def _dns(self, data: dict) -> DnsServer:
        return DnsServer(self.dir, data.get("domain", self.config.domain))

    def _acme(self) -> AcmeServer:
        return AcmeServer(self.dir)

    # -- up ----------------------------------------------------------------
    def up(self, count: int = 1) -> dict:
        if count < 1:
            raise LabError("--nodes must be at least 1")
        tools = prereq.require_programs(prereq.PROGRAMS)
        with self.state.locked():
            data = self.state.load()
            wanted = self.config.dns_port
            if wanted and not self._dns(data).running():
                # Before the image or any node: a taken port must change nothing.
                prereq.require_port(DNS_SERVER, wanted, "the lab DNS server")
            if data.get("domain") and data["domain"] != self.config.domain:
                raise LabError(f"the lab in {self.dir} is up with domain {data['domain']}: "
                               "run `coldrig lab down` first to change it")
            flavour = data.get("image_flavour") if data.get("nodes") else None
            if flavour and flavour != self.config.image:
                raise LabError(f"the lab in {self.dir} runs nodes of the {flavour} image: run `coldrig lab down` "
                               f"first to use the {self.config.image} image")
            image = ImageBuilder(self.config.cache_dir, self.say).ensure(self.config.image)
            data["image_flavour"] = self.config.image
            mode = accel.choose(self.config.accel, tools["qemu-system-x86_64"], image.kernel,
                                self.config.cache_dir)
            data.update({"version": STATE_VERSION, "lab_id": self.lab_id,
                         "domain": self.config.domain})
            data.setdefault("created", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            public_key = ssh.ensure_key(self.key)
            data["ssh"] = {"user": "root", "private_key": str(self.key),
                           "known_hosts": str(self.known_hosts)}
            self._dns_up(data)
            self._acme_up(data)
            self.state.save(data)

            to_boot, unfinished = [], {}
            for name in node_names(count):
                node = data["nodes"].get(name)
                if node and self._alive(node):
                    if node.get("ready"):
                        self.say(f"==> {name}: already running on {node['address']}")
                    else:  # an earlier `lab up` gave up waiting: wait again
                        self.say(f"==> {name}: running on {node['address']}, not yet reachable")
                        unfinished[name] = time.monotonic()
                    continue
                to_boot.append(name)
            extra = sorted(set(data["nodes"]) - set(node_names(count)))
            if extra:
                self.say(f"    note: {', '.join(extra)} also running; "
                         f"`coldrig lab down {extra[0]}` removes one")
            started = unfinished
            for name in to_boot:
                started[name] = self._start_node(data, name, image, mode, public_key, tools)
                self.state.save(data)
            for name, t0 in started.items():
                # nodes that boot together share the host's CPUs (TCG emulates in software):
                # each gets the boot timeout once for every node booting beside it
                self._wait_node(data, name, t0, together=len(started))
                self.state.save(data)
            return data

    def _dns_up(self, data: dict) -> None:
        dns = self._dns(data)
        zones = list(dict.fromkeys(self.config.zones + data.get("dns", {}).get("zones", [])))
        port = data.get("dns", {}).get("port") if dns.running() else None
        wanted = self.config.dns_port
        if wanted and port and wanted != port:
            raise LabError(f"the lab DNS server already listens on port {port}: run "
                           "`coldrig lab down` first to move it")
        if port is None:
            if wanted:
                prereq.require_port(DNS_SERVER, wanted, "the lab DNS server")
                port = wanted
            self.say("==> starting the lab DNS server (Knot DNS)")
        port = dns.start(port, zones)
        data["dns"] = {
            "server": DNS_SERVER, "port": port, "pid": dns.pid(), "zones": zones,
            "tsig_key_name": TSIG_KEY_NAME, "tsig_algorithm": TSIG_ALGORITHM,
            "tsig_secret_file": str(dns.secret_file),
        }

    def _acme_up(self, data: dict) -> None:
        """Keep the lab's pebble running against the lab DNS server; restart it only when needed."""
        acme = self._acme()
        dns_server = f"{DNS_SERVER}:{data['dns']['port']}"
        if acme.running() and acme.dns_server() != dns_server:
            self.say(f"==> restarting the lab ACME server (pebble): the lab DNS server is now {dns_server}")
            acme.stop()
        if acme.running():
            acme.check()
        else:
            earlier = data.get("acme", {})
            self.say("==> starting the lab ACME server (pebble)")
            acme.start(data["dns"]["port"], earlier.get("port"), earlier.get("management_port"))
        data["acme"] = acme.describe()

    def _start_node(self, data: dict, name: str, image: Image, mode: str, public_key: str,
                    tools: dict) -> float:
        node_dir = self._node_dir(name)
        node_dir.mkdir(parents=True, exist_ok=True)
        used = {n["address"] for k, n in data["nodes"].items() if k != name}
        address = allocate_address(used)
        fqdn = f"{name}.{data['domain']}"
        overlay = node_dir / "overlay.qcow2"
        qemu.create_overlay(tools["qemu-img"], image, overlay)
        (node_dir / "console.log").write_text("")
        self.say(f"==> {name}: booting {fqdn} on {address} ({mode}, "
                 f"{self.config.memory_mb} MiB, {self.config.cpus} vCPU)")
        t0 = time.monotonic()
        command = qemu.qemu_command(
            tools["qemu-system-x86_64"], name=qemu.process_name(self.lab_id, name), image=image,
            overlay=overlay, node_dir=node_dir, address=address, fqdn=fqdn,
            public_key=public_key, accel=mode, memory_mb=self.config.memory_mb,
            cpus=self.config.cpus,
        )
        pid = qemu.start(command, node_dir)
        data["nodes"][name] = {
            "name": name, "fqdn": fqdn, "address": address, "pid": pid, "accel": mode,
            "memory_mb": self.config.memory_mb, "cpus": self.config.cpus,
            "image": image.recipe_id, "overlay": str(overlay),
            "console_log": str(node_dir / "console.log"),
            "ports": {svc: host for svc, (host, _guest) in FORWARDS.items()},
            "labels": dict(DEFAULT_LABELS), "ready": False,
        }
        return t0

    def _wait_node(self, data: dict, name: str, t0: float, together: int = 1) -> None:
        node = data["nodes"][name]
        self.say(f"    {name}: waiting for SSH on {node['address']}:{node['ports']['ssh']}")
        try:
            ssh.wait_for_ssh(
                node["address"], node["ports"]["ssh"], self.key, self.known_hosts,
                deadline=t0 + self.config.boot_timeout * max(1, together), alive=lambda: self._alive(node),
            )
        except LabError as exc:
            console = Path(node["console_log"])
            tail = console.read_text(errors="replace").strip().splitlines()[-1:] if console.exists() else []
            raise LabError(f"{name}: {exc} (console: {node['console_log']}"
                           f"{'; last line: ' + tail[0] if tail else ''})") from exc
        seconds = time.monotonic() - t0
        self._dns(data).register_node(data["dns"]["port"], node["fqdn"], node["address"],
                                      reverse_zone())
        node.update({"ready": True, "boot_seconds": round(seconds, 1),
                     "booted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        self.say(f"    {name}: SSH up after {seconds:.1f} s")

    # -- reset -------------------------------------------------------------
    def reset(self, name: str) -> float:
        """Throw the node's disk away and boot it fresh from the image; return seconds."""
        tools = prereq.require_programs(prereq.PROGRAMS)
        with self.state.locked():
            data = self.state.load()
            node = data["nodes"].get(name)
            if node is None:
                raise LabError(f"no lab node named {name}: `coldrig lab status` lists them")
            t0 = time.monotonic()
            qemu.stop(node.get("pid"), qemu.process_name(self.lab_id, name))
            image = ImageBuilder(self.config.cache_dir, self.say).ensure(data.get("image_flavour", "base"))
            public_key = ssh.ensure_key(self.key)
            mode = node.get("accel", "tcg")
            del data["nodes"][name]
            self._start_node(data, name, image, mode, public_key, tools)
            self.state.save(data)
            self._wait_node(data, name, t0)
            self.state.save(data)
            return time.monotonic() - t0

    # -- down --------------------------------------------------------------
    def down(self, names: list[str] | None = None) -> None:
        if not self.dir.exists():
            self.say("==> no lab to take down")
            return
        with self.state.locked():
            data = self.state.load()
            targets = names or list(data["nodes"])
            unknown = [n for n in targets if n not in data["nodes"]]
            if unknown:
                raise LabError(f"no lab node named {unknown[0]}: `coldrig lab status` lists them")
            for name in targets:
                node = data["nodes"][name]
                self.say(f"==> {name}: stopping")
                qemu.stop(node.get("pid"), qemu.process_name(self.lab_id, name))
                if names:
                    dns = self._dns(data)
                    if dns.running():
                        dns.unregister_node(data["dns"]["port"], node["fqdn"], node["address"],
                                            reverse_zone())
                    shutil.rmtree(self._node_dir(name), ignore_errors=True)
                    del data["nodes"][name]
            if names:
                self.state.save(data)
                return
            self.say("==> stopping the lab DNS server")
            self._dns(data).stop()
            self.say("==> stopping the lab ACME server")
            self._acme().stop()
            shutil.rmtree(self.dir)
            self.say(f"==> lab removed ({self.dir})")

    # -- zones -------------------------------------------------------------
    def zone_add(self, zones: list[str]) -> list[str]:
        """Serve more zones (idempotent); return the zones that were not served before."""
        with self.state.locked():
            data = self.state.load()
            if "dns" not in data:
                raise LabError("the lab is not up: run `coldrig lab up` first")
            wanted = [z.rstrip(".").lower() for z in zones]
            added = [z for z in dict.fromkeys(wanted) if z not in data["dns"]["zones"]]
            if not added:
                return []
            data["dns"]["zones"] = data["dns"]["zones"] + added
            self.config.extra_zones = tuple(data["dns"]["zones"])
            self._dns_up(data)
            if "acme" in data:  # a DNS server that was down may be back on another port
                self._acme_up(data)
            self.state.save(data)
            return added

    # -- status ------------------------------------------------------------
    def status(self) -> dict:
        data = self.state.load()
        for node in data["nodes"].values():
            node["running"] = self._alive(node)
            node["rss_bytes"] = qemu.rss_bytes(node.get("pid")) if node["running"] else 0
        if "dns" in data:
            data["dns"]["running"] = self._dns(data).running()
        if "acme" in data:
            data["acme"]["running"] = self._acme().running()
        return data

    def ssh_command(self, name: str, extra: list[str], user: str | None = None) -> list[str]:
        """ssh argv for a node: as root, or (user None) as the admin user once root is refused."""
        data = self.state.load()
        node = data["nodes"].get(name)
        if node is None:
            raise LabError(f"no lab node named {name}: `coldrig lab status` lists them")
        if not self._alive(node):
            raise LabError(f"{name} is not running: `coldrig lab up` starts it")
        base = ["ssh", *ssh.ssh_base_args(self.key, self.known_hosts, node["ports"]["ssh"])]
        if user is None:
            user = "root" if self._root_may_log_in(base, node["address"]) else ADMIN_USER
        if user == ADMIN_USER and ADMIN_USER != "root":
            # The harden role turned root's SSH login off: log in as its admin user and
            # become root with sudo, so that the command runs as it did before.
            wrapped = ["sudo", "-i"] if not extra else ["sudo", "--", "sh", "-c", shlex.join(extra)]
            return [*base, "-t" if not extra else "-T", f"{user}@{node['address']}", *wrapped]
        return [*base, f"{user}@{node['address']}", *extra]

    @staticmethod
    def _root_may_log_in(base: list[str], address: str) -> bool:
        result = subprocess.run([*base, "-o", "BatchMode=yes", f"root@{address}", "true"],
                                capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
        return not (result.returncode == 255 and "Permission denied" in result.stderr)


def stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
