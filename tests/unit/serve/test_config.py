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


def _awx_env(**extra):
    return {"COLDRIG_SERVE_SECRETS": SECRET, "COLDRIG_SERVE_PROJECT_DIR": str(ROOT), "COLDRIG_SERVE_DISPATCH": "awx",
            "COLDRIG_SERVE_AWX_URL": "https://awx.example.com/api/v2", "COLDRIG_SERVE_AWX_JOB_TEMPLATE": "42",
            **extra}


def test_dispatch_awx_from_the_file_and_the_token_from_the_environment(tmp_path):
    path = _file(tmp_path, f'[serve]\nproject_dir = "{ROOT}"\ndispatch = "awx"\nawx_url = "https://awx.example.com/api/v2"\n'
                           'awx_job_template = 42\n')
    loaded = config.load(path, {"COLDRIG_SERVE_SECRETS": SECRET, "COLDRIG_SERVE_AWX_TOKEN": "tok3n-value"})
    assert (loaded.dispatch, loaded.awx_job_template, loaded.awx_token) == ("awx", 42, "tok3n-value")
    assert "tok3n-value" not in repr(loaded)


@pytest.mark.parametrize("missing, named", [("COLDRIG_SERVE_AWX_TOKEN", "awx_token: none given"),
                                            ("COLDRIG_SERVE_AWX_URL", "awx_url:"),
                                            ("COLDRIG_SERVE_AWX_JOB_TEMPLATE", "awx_job_template: none given")])
def test_dispatch_awx_names_the_missing_setting(missing, named):
    environ = _awx_env(COLDRIG_SERVE_AWX_TOKEN="tok3n-value")
    del environ[missing]
    with pytest.raises(config.ConfigError) as caught:
        config.load(None, environ)
    assert str(caught.value).startswith(named) and "tok3n-value" not in str(caught.value)


def test_an_unknown_dispatch_is_refused():
    with pytest.raises(config.ConfigError, match="dispatch: 'k8s' is not one of local, awx"):
        config.load(None, {"COLDRIG_SERVE_SECRETS": SECRET, "COLDRIG_SERVE_PROJECT_DIR": str(ROOT),
                           "COLDRIG_SERVE_DISPATCH": "k8s"})
