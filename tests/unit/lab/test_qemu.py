import base64
import os

from coldrig.lab import qemu
from coldrig.lab.config import FORWARDS
from coldrig.lab.image import Image


def command(tmp_path, accel="tcg"):
    return qemu.qemu_command(
        "qemu-system-x86_64", name="coldrig-abcd-node1", image=Image(tmp_path, "debian12-x"),
        overlay=tmp_path / "overlay.qcow2", node_dir=tmp_path, address="127.0.100.7",
        fqdn="node1.lab.coldrig.test", public_key="ssh-ed25519 AAAAkey coldrig-lab",
        accel=accel, memory_mb=1024, cpus=2,
    )


def test_every_service_port_is_forwarded_on_the_node_address(tmp_path):
    netdev = command(tmp_path)[command(tmp_path).index("-netdev") + 1]
    for host_port, guest_port in FORWARDS.values():
        assert f"hostfwd=tcp:127.0.100.7:{host_port}-:{guest_port}" in netdev


def test_tcg_uses_multithreaded_translation_and_kvm_uses_kvm(tmp_path):
    assert "tcg,thread=multi" in command(tmp_path, "tcg")
    assert "kvm" in command(tmp_path, "kvm")


def test_node_boots_on_its_overlay_with_a_pidfile_and_daemonizes(tmp_path):
    cmd = command(tmp_path)
    drive = cmd[cmd.index("-drive") + 1]
    assert drive.startswith(f"file={tmp_path / 'overlay.qcow2'},format=qcow2")
    assert "-daemonize" in cmd
    assert cmd[cmd.index("-pidfile") + 1] == str(tmp_path / "qemu.pid")
    assert cmd[cmd.index("-name") + 1] == "coldrig-abcd-node1"


def test_kernel_cmdline_carries_hostname_and_key_without_spaces():
    line = qemu.kernel_cmdline("node1.lab.coldrig.test", "ssh-ed25519 AAAAkey coldrig-lab")
    words = dict(w.split("=", 1) for w in line.split() if "=" in w)
    assert words["coldrig.hostname"] == "node1.lab.coldrig.test"
    assert base64.b64decode(words["coldrig.ssh_key"]).decode() == "ssh-ed25519 AAAAkey coldrig-lab"


def test_a_process_that_is_not_our_qemu_is_never_ours():
    assert not qemu.is_ours(os.getpid(), "coldrig-abcd-node1")
    assert not qemu.is_ours(None, "coldrig-abcd-node1")


def test_stop_leaves_foreign_processes_alone():
    qemu.stop(os.getpid(), "coldrig-abcd-node1")  # must not signal the test runner
    assert os.getpid()


def test_rss_of_a_live_process_is_positive_and_of_none_zero():
    assert qemu.rss_bytes(os.getpid()) > 0
    assert qemu.rss_bytes(None) == 0
