"""Settings of coldrig serve: a TOML file, then COLDRIG_SERVE_* variables."""

from pathlib import Path

import pytest

from coldrig.serve import config

ROOT = Path(__file__).resolve().parents[3]
SECRET = "s" * 40


def _file(tmp_path, text):
    path = tmp_path / "serve.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_bind_localhost(tmp_path):
    loaded = config.load(None, {"COLDRIG_SERVE_SECRETS": SECRET, "COLDRIG_SERVE_PROJECT_DIR": str(ROOT)})
    assert loaded.bind == "127.0.0.1:8787" and loaded.host == "127.0.0.1" and loaded.port == 8787
    assert loaded.secrets == [SECRET]
    assert loaded.playbook_path == ROOT / "playbooks" / "onboard.yml"


def test_the_environment_overrides_the_file(tmp_path):
    path = _file(tmp_path, f'[serve]\nbind = "127.0.0.1:9000"\nconcurrency = 4\nproject_dir = "{ROOT}"\n'
                           f'secrets = ["{SECRET}"]\n')
    loaded = config.load(path, {"COLDRIG_SERVE_CONCURRENCY": "3", "COLDRIG_SERVE_SECRETS": f"{'a' * 32},{'b' * 32}"})
    assert loaded.bind == "127.0.0.1:9000" and loaded.concurrency == 3
    assert loaded.secrets == ["a" * 32, "b" * 32]


@pytest.mark.parametrize("text,env,message", [
    ("", {}, "secrets: none given"),
    ("", {"COLDRIG_SERVE_SECRETS": "short"}, "secrets[0]: shorter than 32"),
    ("", {"COLDRIG_SERVE_SECRETS": ",".join(["c" * 32] * 3)}, "at most two"),
    ('bind = "localhost"\n', {"COLDRIG_SERVE_SECRETS": SECRET}, "bind: 'localhost' is not host:port"),
    ("concurrency = 0\n", {"COLDRIG_SERVE_SECRETS": SECRET}, "concurrency: 0 is not at least 1"),
    ("workers = 2\n", {"COLDRIG_SERVE_SECRETS": SECRET}, "unknown setting(s) workers"),
    ('playbook = "nope.yml"\n', {"COLDRIG_SERVE_SECRETS": SECRET}, "playbook: "),
    ("bind = [\n", {}, "not TOML"),
])
def test_a_wrong_setting_is_named(tmp_path, text, env, message):
    path = _file(tmp_path, f'project_dir = "{ROOT}"\n' + text)
    with pytest.raises(config.ConfigError) as caught:
        config.load(path, env)
    assert message in str(caught.value)


def test_a_short_secret_is_not_shown_in_the_error(tmp_path):
    with pytest.raises(config.ConfigError) as caught:
        config.load(None, {"COLDRIG_SERVE_SECRETS": "tooshort-secret", "COLDRIG_SERVE_PROJECT_DIR": str(ROOT)})
    assert "tooshort-secret" not in str(caught.value)


def test_the_example_settings_file_loads():
    loaded = config.load(ROOT / "contrib" / "systemd" / "serve.toml",
                         {"COLDRIG_SERVE_SECRETS": SECRET, "COLDRIG_SERVE_PROJECT_DIR": str(ROOT)})
    assert loaded.bind == "127.0.0.1:8787" and loaded.default_inventory in loaded.inventories
