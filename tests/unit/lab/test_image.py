import json
from pathlib import Path

import pytest

from coldrig.lab import image
from coldrig.lab.errors import LabError

DEB822 = """Types: deb
# a comment
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm

Types: deb
Enabled: no
URIs: http://disabled.example/debian
Suites: bookworm
"""


def test_deb822_sources_give_mirror_and_security_mirror(tmp_path, monkeypatch):
    monkeypatch.delenv("COLDRIG_DEBIAN_MIRROR", raising=False)
    monkeypatch.delenv("COLDRIG_DEBIAN_SECURITY_MIRROR", raising=False)
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(DEB822)
    assert image.host_mirrors(tmp_path) == (
        "http://mirror.example/debian",
        "http://security.example/debian-security",
    )


def test_one_line_sources_skip_options_and_comments(tmp_path, monkeypatch):
    monkeypatch.delenv("COLDRIG_DEBIAN_MIRROR", raising=False)
    (tmp_path / "sources.list").write_text(
        "# deb http://commented.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/x.gpg] http://mirror.example/debian bookworm main\n"
    )
    mirror, security = image.host_mirrors(tmp_path)
    assert mirror == "http://mirror.example/debian"
    assert security is None


def test_mirror_environment_variable_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("COLDRIG_DEBIAN_MIRROR", "http://override.example/debian")
    assert image.host_mirrors(tmp_path)[0] == "http://override.example/debian"


def test_no_mirror_is_a_one_line_error_naming_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("COLDRIG_DEBIAN_MIRROR", raising=False)
    with pytest.raises(LabError, match="COLDRIG_DEBIAN_MIRROR") as err:
        image.host_mirrors(tmp_path)
    assert "\n" not in str(err.value)


def test_recipe_id_is_stable_and_follows_the_recipe():
    spec = image.recipe("http://m.example/debian", None)
    assert image.recipe_id(spec) == image.recipe_id(dict(spec))
    changed = dict(spec, packages=spec["packages"] + ["postfix"])
    assert image.recipe_id(changed) != image.recipe_id(spec)
    assert image.recipe_id(spec).startswith("debian12-")


def test_image_carries_what_ansible_and_the_lab_need():
    for package in ("openssh-server", "python3", "python3-apt", "linux-image-amd64", "systemd-sysv"):
        assert package in image.PACKAGES


def test_apt_sources_include_updates_and_security():
    text = image.apt_sources("http://m.example/debian", "http://s.example/debian-security")
    assert "Suites: bookworm bookworm-updates" in text
    assert "Suites: bookworm-security" in text


def test_firstboot_makes_host_keys_per_node_not_in_the_image():
    # The image ships no host keys; each node makes its own at first boot.
    assert "ssh-keygen" in image.FIRSTBOOT_SCRIPT
    assert "Before=ssh.service" in image.FIRSTBOOT_UNIT


def test_find_ignores_half_built_images(tmp_path):
    builder = image.ImageBuilder(tmp_path, say=lambda _m: None)
    spec = image.recipe("http://m.example/debian", None)
    path = tmp_path / "images" / image.recipe_id(spec)
    path.mkdir(parents=True)
    (path / "base.qcow2").write_bytes(b"")
    assert builder.find(spec) is None  # no manifest: the build did not finish
    (path / "manifest.json").write_text("{}")
    assert builder.find(spec) == image.Image(path, image.recipe_id(spec))


def test_prune_keeps_the_current_image_only(tmp_path):
    builder = image.ImageBuilder(tmp_path, say=lambda _m: None)
    for name in ("debian12-old", "debian12-new"):
        (tmp_path / "images" / name).mkdir(parents=True)
    builder._prune(keep="debian12-new")
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == ["debian12-new"]


def test_building_without_root_says_how_to_fix(monkeypatch, tmp_path):
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    builder = image.ImageBuilder(tmp_path, say=lambda _m: None)
    with pytest.raises(LabError, match="needs root"):
        builder._build(image.recipe("http://m.example/debian", None))
    assert not list(Path(tmp_path).glob("images/.*.build"))


def test_newest_kernel_compares_debian_versions_numerically(tmp_path):
    from coldrig.lab.image import newest_kernel

    assert newest_kernel(tmp_path) is None
    for version in ("6.1.0-9-amd64", "6.1.0-10-amd64", "6.1.0-44-amd64"):
        (tmp_path / f"vmlinuz-{version}").write_text("")
    assert newest_kernel(tmp_path) == "6.1.0-44-amd64"


def test_the_mail_image_is_a_flavour_of_its_own_with_its_own_id():
    base = image.recipe("http://m.example/debian", None)
    mail = image.recipe("http://m.example/debian", None, "mail")
    assert "flavour" not in base  # the base recipe (and so its id) is what it was before flavours
    assert image.recipe_id(mail).startswith("debian12-mail-") and image.recipe_id(mail) != image.recipe_id(base)
    assert mail["extra_packages"] == list(image.MAIL_PACKAGES)


def test_an_unknown_flavour_is_refused_naming_the_option():
    with pytest.raises(LabError, match="--image: 'huge' is not one of base, mail"):
        image.recipe("http://m.example/debian", None, "huge")


def test_the_mail_image_has_every_package_the_roles_install():
    """The roles install these on real nodes; on a mail-image node their apt tasks find them there."""
    import yaml  # pylint: disable=import-outside-toplevel

    roles = Path(__file__).resolve().parents[3] / "roles"
    harden = yaml.safe_load((roles / "harden" / "vars" / "Debian.yml").read_text())
    postfix = yaml.safe_load((roles / "postfix" / "vars" / "main.yml").read_text())
    wanted = set(harden["_harden_packages"]) | set(harden["_harden_audit_packages"])
    wanted |= set(harden["_harden_time_sync_packages"]["systemd-timesyncd"]) | set(postfix["_postfix_packages"])
    present = set(image.MAIL_PACKAGES) | set(image.PACKAGES)
    assert wanted <= present, sorted(wanted - present)


def test_prune_keeps_the_images_of_other_flavours(tmp_path):
    builder = image.ImageBuilder(tmp_path, say=lambda _m: None)
    for name, flavour in (("debian12-old", None), ("debian12-new", None), ("debian12-mail-a", "mail")):
        path = tmp_path / "images" / name
        path.mkdir(parents=True)
        recipe = {"version": 3} if flavour is None else {"version": 3, "flavour": flavour}
        (path / "manifest.json").write_text(json.dumps({"recipe": recipe}))
    builder._prune(keep="debian12-new")  # pylint: disable=protected-access
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == ["debian12-mail-a", "debian12-new"]
