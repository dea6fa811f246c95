"""The lab's Debian 12 node image: built once with debootstrap, then cached.

An image is a directory ``<cache>/images/<recipe id>/`` holding ``base.qcow2``
(the root filesystem), the kernel and initrd for direct kernel boot, and
``manifest.json``. The recipe id is a hash of everything that shapes the image,
so changing the recipe builds a new image beside the old one instead of
silently reusing a stale one.

Per-node settings (host name, the lab's SSH key) are not baked in: the
``coldrig-firstboot`` unit reads them from the kernel command line at boot, and
SSH host keys are generated on the node's first boot, so every node of every lab
has its own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterator

from coldrig.lab import prereq
from coldrig.lab.errors import LabError

SUITE = "bookworm"
PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "python3",
    "python3-apt",
    "linux-image-amd64",
    "iproute2",
    "netbase",
    "procps",
    "sudo",
    "ca-certificates",
)
# Timers and units that only cost boot time or CPU on a throw-away lab node.
DISABLED_UNITS = (
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "e2scrub_all.timer",
    "e2scrub_reap.service",
    "fstrim.timer",
    "systemd-networkd-wait-online.service",
)
# Image flavours. "base" is a bare Debian 12, as a provider's image is; "mail" also has
# the packages the harden and postfix roles install (installed here, natively, with no
# service started), because under TCG dpkg costs the tests 5 to 10 minutes per fresh node.
# The roles still run their apt tasks against a mail node (they find the packages there);
# tests/unit/lab/test_image.py checks this list against the roles' own lists.
MAIL_PACKAGES = (
    # harden (roles/harden/vars/Debian.yml)
    "nftables", "fail2ban", "python3-systemd", "unattended-upgrades", "apt-listchanges", "needrestart",
    "auditd", "systemd-timesyncd", "acct", "sysstat", "aide", "chkrootkit", "debsums", "apt-show-versions",
    "libpam-tmpdir", "libpam-pwquality",
    # postfix (roles/postfix/vars/main.yml) and mail_dns (python3-cryptography for dkim_key)
    "postfix", "postfix-pcre", "dovecot-core", "dovecot-imapd", "dovecot-lmtpd", "opendkim",
    "policyd-rate-limit", "python3-yaml", "nginx-light", "certbot", "ssl-cert", "python3-cryptography",
)
FLAVOURS = {"base": (), "mail": MAIL_PACKAGES}
DISK_SIZE = "10G"
RECIPE_VERSION = 3  # 3: security updates (dist-upgrade) applied at build time

FIRSTBOOT_SCRIPT = r"""#!/bin/sh
# coldrig lab: per-node settings from the kernel command line (see coldrig/lab/image.py).
set -eu
name=""; key=""
for word in $(cat /proc/cmdline); do
  case "$word" in
    coldrig.hostname=*) name="${word#*=}" ;;
    coldrig.ssh_key=*) key="${word#*=}" ;;
  esac
done
if [ -n "$name" ] && [ ! -e /var/lib/coldrig-firstboot.done ]; then
  short="${name%%.*}"
  echo "$short" > /etc/hostname
  hostname "$short"
  sed -i '/^127\.0\.1\.1[[:space:]]/d' /etc/hosts
  printf '127.0.1.1\t%s %s\n' "$name" "$short" >> /etc/hosts
fi
if [ -n "$key" ]; then
  install -d -m 0700 /root/.ssh
  echo "$key" | base64 -d > /root/.ssh/authorized_keys.new
  chmod 0600 /root/.ssh/authorized_keys.new
  mv /root/.ssh/authorized_keys.new /root/.ssh/authorized_keys
fi
# The mail image carries ssl-cert's self-signed certificate, made in the image: each node
# makes its own, for its own name.
if [ -x /usr/sbin/make-ssl-cert ] && [ ! -e /var/lib/coldrig-firstboot.done ]; then
  make-ssl-cert generate-default-snakeoil --force-overwrite || true
fi
# ed25519 and ECDSA only: an RSA host key costs seconds under TCG at every first boot.
for type in ed25519 ecdsa; do
  file="/etc/ssh/ssh_host_${type}_key"
  [ -e "$file" ] || ssh-keygen -q -t "$type" -N "" -f "$file"
done
touch /var/lib/coldrig-firstboot.done
"""

FIRSTBOOT_UNIT = """[Unit]
Description=coldrig lab: host name, SSH key and host keys from the kernel command line
DefaultDependencies=no
After=local-fs.target
Before=ssh.service network-pre.target
Wants=network-pre.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/coldrig-firstboot
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
"""

# QEMU user networking: the guest is 10.0.2.15, the host's loopback is reachable
# as 10.0.2.2 and QEMU's DNS forwarder is 10.0.2.3. A static address saves the
# DHCP round trips at every boot.
SSHD_HOSTKEYS = """# coldrig lab image: the host keys coldrig-firstboot makes.
HostKey /etc/ssh/ssh_host_ed25519_key
HostKey /etc/ssh/ssh_host_ecdsa_key
"""

NETWORK_UNIT = """[Match]
Name=en*

[Network]
Address=10.0.2.15/24
Gateway=10.0.2.2
DNS=10.0.2.3
IPv6AcceptRA=yes
"""


@dataclasses.dataclass(frozen=True)
class Image:
    """A built image, ready to back node overlays."""

    path: Path
    recipe_id: str

    @property
    def disk(self) -> Path:
        return self.path / "base.qcow2"

    @property
    def kernel(self) -> Path:
        return self.path / "vmlinuz"

    @property
    def initrd(self) -> Path:
        return self.path / "initrd.img"

    @property
    def manifest(self) -> dict:
        return json.loads((self.path / "manifest.json").read_text())


def parse_apt_sources(text: str, deb822: bool) -> list[tuple[str, list[str]]]:
    """(uri, suites) pairs of the ``deb`` entries of one apt sources file."""
    entries: list[tuple[str, list[str]]] = []
    if deb822:
        for stanza in re.split(r"\n\s*\n", text):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                key, value = line.split(":", 1)
                fields[key.strip().lower()] = value.strip()
            if fields.get("enabled", "yes").lower() == "no":
                continue
            if "deb" not in fields.get("types", "").split():
                continue
            for uri in fields.get("uris", "").split():
                entries.append((uri, fields.get("suites", "").split()))
    else:
        for line in text.splitlines():
            line = re.sub(r"\[[^\]]*\]", " ", line.split("#", 1)[0])  # drop [options]
            words = line.split()
            if len(words) >= 3 and words[0] == "deb":
                entries.append((words[1], [words[2]]))
    return entries


def host_mirrors(apt_dir: Path = Path("/etc/apt")) -> tuple[str, str | None]:
    """The Debian mirror and security mirror this machine's apt already uses.

    ``COLDRIG_DEBIAN_MIRROR`` and ``COLDRIG_DEBIAN_SECURITY_MIRROR`` override them.
    """
    entries: list[tuple[str, list[str]]] = []
    files = [apt_dir / "sources.list"] + sorted((apt_dir / "sources.list.d").glob("*"))
    for path in files:
        if not path.is_file():
            continue
        if path.suffix == ".sources":
            entries += parse_apt_sources(path.read_text(), deb822=True)
        elif path.suffix == ".list" or path.name == "sources.list":
            entries += parse_apt_sources(path.read_text(), deb822=False)
    mirror = os.environ.get("COLDRIG_DEBIAN_MIRROR")
    security = os.environ.get("COLDRIG_DEBIAN_SECURITY_MIRROR")
    for uri, suites in entries:
        if mirror is None and SUITE in suites:
            mirror = uri
        if security is None and f"{SUITE}-security" in suites:
            security = uri
    if mirror is None:
        raise LabError(
            f"no Debian {SUITE} mirror found in /etc/apt/sources.list*: set "
            "COLDRIG_DEBIAN_MIRROR to the mirror URL debootstrap should use"
        )
    return mirror, security


def recipe(mirror: str, security: str | None, flavour: str = "base") -> dict:
    if flavour not in FLAVOURS:
        raise LabError(f"--image: {flavour!r} is not one of {', '.join(FLAVOURS)}")
    spec = {
        "version": RECIPE_VERSION,
        "suite": SUITE,
        "packages": list(PACKAGES),
        "disabled_units": list(DISABLED_UNITS),
        "disk_size": DISK_SIZE,
        "mirror": mirror,
        "security": security,
        "firstboot": hashlib.sha256(
            (FIRSTBOOT_SCRIPT + FIRSTBOOT_UNIT + NETWORK_UNIT + SSHD_HOSTKEYS).encode()
        ).hexdigest(),
    }
    if flavour != "base":
        spec.update({"flavour": flavour, "extra_packages": list(FLAVOURS[flavour])})
    return spec


def recipe_id(spec: dict) -> str:
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
    flavour = spec.get("flavour", "base")
    return f"debian12-{digest[:12]}" if flavour == "base" else f"debian12-{flavour}-{digest[:12]}"


def flavour_of(image_dir: Path) -> str | None:
    """The flavour of a built image directory, from its manifest (None when unreadable)."""
    try:
        return json.loads((image_dir / "manifest.json").read_text())["recipe"].get("flavour", "base")
    except (OSError, ValueError, KeyError, AttributeError):
        return None


def apt_sources(mirror: str, security: str | None) -> str:
    text = (
        f"Types: deb\nURIs: {mirror}\nSuites: {SUITE} {SUITE}-updates\n"
        "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )
    if security:
        text += (
            f"\nTypes: deb\nURIs: {security}\nSuites: {SUITE}-security\n"
            "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        )
    return text


def _version_key(version: str) -> list[tuple[int, str]]:
    """Sort key for Debian kernel versions such as 6.1.0-9-amd64 < 6.1.0-10-amd64."""
    return [(int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"[.-]", version)]


def newest_kernel(boot: Path) -> str | None:
    """The version of the newest kernel in a /boot directory, or None."""
    versions = [path.name.removeprefix("vmlinuz-") for path in boot.glob("vmlinuz-*")]
    return max(versions, key=_version_key) if versions else None


@contextlib.contextmanager
def _chroot_mounts(root: Path) -> Iterator[None]:
    """/proc, /sys and /dev in the tree for package scripts; always unmounted again."""
    mounted: list[Path] = []
    try:
        for source, fstype in (("/proc", "proc"), ("/sys", "sysfs"), ("/dev", None)):
            target = root / source.lstrip("/")
            target.mkdir(exist_ok=True)
            args = ["mount", "--bind", source, str(target)] if fstype is None else \
                ["mount", "-t", fstype, fstype, str(target)]
            subprocess.run(args, check=True, capture_output=True)
            mounted.append(target)
        yield
    finally:
        for target in reversed(mounted):
            subprocess.run(["umount", "--lazy", str(target)], check=False, capture_output=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class ImageBuilder:
    """Builds (or finds) the cached node image."""

    def __init__(self, cache_dir: Path, say: Callable[[str], None] = print):
        self.images_dir = cache_dir / "images"
        self.say = say

    def find(self, spec: dict) -> Image | None:
        path = self.images_dir / recipe_id(spec)
        if (path / "manifest.json").is_file() and (path / "base.qcow2").is_file():
            return Image(path, recipe_id(spec))
        return None

    def ensure(self, flavour: str = "base") -> Image:
        mirror, security = host_mirrors()
        spec = recipe(mirror, security, flavour)
        image = self.find(spec)
        if image:
            return image
        with _locked(self.images_dir / ".build.lock"):
            image = self.find(spec)  # another process may have built it meanwhile
            if image:
                return image
            return self._build(spec)

    def _run(self, cmd: list[str], log: Path, what: str) -> None:
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"$ {' '.join(cmd)}\n")
            out.flush()
            result = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False)
        if result.returncode != 0:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or [""]
            raise LabError(f"{what} failed (exit {result.returncode}): {tail[0]} (full log: {log})")

    def _build(self, spec: dict) -> Image:
        prereq.require_root("building the lab image")
        tools = prereq.require_programs({**prereq.IMAGE_PROGRAMS, "qemu-img": "qemu-utils"})
        rid = recipe_id(spec)
        work = self.images_dir / f".{rid}.build"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        log = self.images_dir / f"{rid}.build.log"
        log.write_text("")
        root = work / "root"
        started = time.monotonic()
        try:
            self.say(f"==> building the lab image {rid} with debootstrap ({SUITE}); log: {log}")
            self._run(
                [
                    tools["debootstrap"],
                    "--variant=minbase",
                    "--include=" + ",".join(PACKAGES),
                    SUITE,
                    str(root),
                    spec["mirror"],
                ],
                log,
                "debootstrap",
            )
            self.say(f"    debootstrap done in {time.monotonic() - started:.0f} s; configuring")
            self._configure(root, spec, tools["chroot"], log)
            self.say("    applying the pending security updates")
            self._upgrade(root, tools["chroot"], log)
            if spec.get("extra_packages"):
                self.say(f"    installing the {spec['flavour']} image's {len(spec['extra_packages'])} packages")
                self._install(root, tools["chroot"], log, spec["extra_packages"])
            kernel_version = newest_kernel(root / "boot")
            initrd = root / "boot" / f"initrd.img-{kernel_version}"
            if not kernel_version or not initrd.is_file():
                raise LabError(f"debootstrap left no kernel or initrd in {root}/boot (log: {log})")
            shutil.copy2(root / "boot" / f"vmlinuz-{kernel_version}", work / "vmlinuz")
            shutil.copy2(initrd, work / "initrd.img")
            self.say("    making the disk image")
            raw = work / "base.raw"
            self._run(
                [tools["mkfs.ext4"], "-q", "-L", "coldrig-root", "-d", str(root), str(raw), DISK_SIZE],
                log,
                "mkfs.ext4",
            )
            self._run(
                [tools["qemu-img"], "convert", "-O", "qcow2", str(raw), str(work / "base.qcow2")],
                log,
                "qemu-img convert",
            )
            raw.unlink()
            shutil.rmtree(root)
            manifest = {
                "recipe_id": rid,
                "recipe": spec,
                "kernel_version": kernel_version,
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "build_seconds": round(time.monotonic() - started, 1),
                "disk_bytes": (work / "base.qcow2").stat().st_size,
            }
            (work / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
            final = self.images_dir / rid
            shutil.rmtree(final, ignore_errors=True)
            work.rename(final)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        self.say(f"    image ready in {time.monotonic() - started:.0f} s: {final}")
        self._prune(keep=rid, flavour=spec.get("flavour", "base"))
        return Image(final, rid)

    def _prune(self, keep: str, flavour: str = "base") -> None:
        """Remove older images of this flavour (a running node keeps its open backing file)."""
        for path in self.images_dir.glob("debian12-*"):
            if path.is_dir() and path.name != keep and flavour_of(path) in (flavour, None):
                shutil.rmtree(path, ignore_errors=True)
                self.say(f"    removed the outdated image {path.name}")

    def _upgrade(self, root: Path, chroot: str, log: Path) -> None:
        """Install the security updates published since the point release, as a provider's image has them.

        Runs apt in the tree with the host's resolver, then puts the node's resolver back.
        """
        resolv = root / "etc" / "resolv.conf"
        node_resolv = resolv.read_text()
        shutil.copyfile("/etc/resolv.conf", resolv)
        env = ["env", "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C"]
        try:
            with _chroot_mounts(root):
                self._run([chroot, str(root), *env, "apt-get", "-qq", "update"], log, "apt-get update")
                # dist-upgrade: a kernel security update is a new package (linux-image-6.1.0-N).
                self._run([chroot, str(root), *env, "apt-get", "-qq", "-y", "-o", "Dpkg::Options::=--force-confold",
                           "dist-upgrade"], log, "apt-get dist-upgrade")
                self._run([chroot, str(root), "apt-get", "clean"], log, "apt-get clean")
        finally:
            resolv.write_text(node_resolv)

    def _install(self, root: Path, chroot: str, log: Path, packages: list[str]) -> None:
        """Install the flavour's packages in the tree, starting no service (policy-rc.d says no)."""
        resolv = root / "etc" / "resolv.conf"
        node_resolv = resolv.read_text()
        shutil.copyfile("/etc/resolv.conf", resolv)
        policy = root / "usr" / "sbin" / "policy-rc.d"
        policy.write_text("#!/bin/sh\n# coldrig lab image build: no service starts in the image\nexit 101\n")
        policy.chmod(0o755)
        env = ["env", "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C"]
        try:
            with _chroot_mounts(root):
                self._run([chroot, str(root), *env, "apt-get", "-qq", "-y", "--no-install-recommends",
                           "-o", "Dpkg::Options::=--force-confold", "install", *packages], log, "apt-get install")
                self._run([chroot, str(root), "apt-get", "clean"], log, "apt-get clean")
        finally:
            policy.unlink(missing_ok=True)
            resolv.write_text(node_resolv)

    def _configure(self, root: Path, spec: dict, chroot: str, log: Path) -> None:
        etc = root / "etc"
        (etc / "fstab").write_text("/dev/vda / ext4 defaults,noatime 0 1\n")
        (etc / "hostname").write_text("coldrig-lab\n")
        (etc / "hosts").write_text(
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
            "ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
        )
        resolv = etc / "resolv.conf"
        if resolv.is_symlink() or resolv.exists():
            resolv.unlink()
        resolv.write_text("nameserver 10.0.2.3\n")
        (etc / "systemd" / "network").mkdir(parents=True, exist_ok=True)
        (etc / "systemd" / "network" / "10-lab.network").write_text(NETWORK_UNIT)
        sources = etc / "apt" / "sources.list"
        if sources.exists():
            sources.unlink()
        (etc / "apt" / "sources.list.d" / "debian.sources").write_text(
            apt_sources(spec["mirror"], spec["security"])
        )
        script = root / "usr" / "local" / "sbin" / "coldrig-firstboot"
        script.write_text(FIRSTBOOT_SCRIPT)
        script.chmod(0o755)
        (etc / "systemd" / "system" / "coldrig-firstboot.service").write_text(FIRSTBOOT_UNIT)
        self._run(
            [chroot, str(root), "systemctl", "enable", "coldrig-firstboot.service",
             "systemd-networkd.service"],
            log,
            "enabling units",
        )
        self._run(
            [chroot, str(root), "systemctl", "mask", *DISABLED_UNITS], log, "masking units"
        )
        (etc / "ssh" / "sshd_config.d" / "00-coldrig-lab-hostkeys.conf").write_text(SSHD_HOSTKEYS)
        # Host keys and the machine id must be made per node, not shared by every node.
        for key in (etc / "ssh").glob("ssh_host_*"):
            key.unlink()
        (etc / "machine-id").write_text("")
        dbus_id = root / "var" / "lib" / "dbus" / "machine-id"
        if dbus_id.exists() or dbus_id.is_symlink():
            dbus_id.unlink()
        for deb in (root / "var" / "cache" / "apt" / "archives").glob("*.deb"):
            deb.unlink()
