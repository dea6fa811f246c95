"""Settings of ``coldrig serve``: a TOML file, then COLDRIG_SERVE_* environment variables.

Every setting, its default and its variable are listed in docs/serve.md.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from coldrig.serve.dispatch import DISPATCHERS


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / fallback


class ConfigError(Exception):
    """A setting is missing or wrong; the message names it and says what to give."""


MIN_SECRET_LENGTH = 32


@dataclass
class ServeConfig:
    bind: str = "127.0.0.1:8787"
    secrets: list[str] = field(default_factory=list)
    data_dir: Path = field(default_factory=lambda: _xdg("XDG_STATE_HOME", ".local/state") / "coldrig" / "serve")
    concurrency: int = 2
    job_timeout: int = 3600          # seconds one run may take before it is ended (state timeout)
    retention: int = 7 * 86400       # seconds a finished job's directory and exports are kept
    replay_window: int = 300         # seconds a signature's timestamp may differ from the server's clock
    max_body: int = 1024 * 1024      # bytes
    project_dir: Path = field(default_factory=Path.cwd)
    playbook: str = "playbooks/onboard.yml"
    inventories: dict[str, str] = field(default_factory=lambda: {"lab": "inventories/lab"})
    default_inventory: str = "lab"
    dispatch: str = "local"          # where runs go: local (ansible-runner) or awx (docs/awx.md)
    awx_url: str = ""                # AWX's API root, e.g. https://awx.example.com/api/v2
    awx_token: str = field(default="", repr=False)  # OAuth2 token; from COLDRIG_SERVE_AWX_TOKEN
    awx_job_template: int = 0        # id of the job template that runs the onboarding playbook
    awx_poll_interval: int = 2       # seconds between two polls of the AWX job and its events
    page_ttl: int = 600              # seconds a job page's signed URL stays valid

    @property
    def host(self) -> str:
        return self.bind.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.bind.rpartition(":")[2])

    def inventory_path(self, name: str) -> Path:
        return (self.project_dir / self.inventories[name]).resolve()

    @property
    def playbook_path(self) -> Path:
        return (self.project_dir / self.playbook).resolve()


_INTS = ("concurrency", "job_timeout", "retention", "replay_window", "max_body", "awx_job_template",
         "awx_poll_interval", "page_ttl")
_STRS = ("bind", "playbook", "default_inventory", "dispatch", "awx_url", "awx_token")
_PATHS = ("data_dir", "project_dir")


def _from_env(environ) -> dict:
    values: dict = {}
    for name in _INTS + _STRS + _PATHS:
        raw = environ.get("COLDRIG_SERVE_" + name.upper())
        if raw is not None:
            values[name] = raw
    raw = environ.get("COLDRIG_SERVE_SECRETS")
    if raw is not None:
        values["secrets"] = [part.strip() for part in raw.split(",") if part.strip()]
    return values


def load(path: str | os.PathLike | None = None, environ=None) -> ServeConfig:
    """The settings from ``path`` (TOML, table ``[serve]`` or top level), overridden by the environment."""
    environ = os.environ if environ is None else environ
    values: dict = {}
    if path is None:
        path = environ.get("COLDRIG_SERVE_CONFIG")
    if path:
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except OSError as exc:
            raise ConfigError(f"config file {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: not TOML ({exc})") from exc
        values.update(data.get("serve", data))
    values.update(_from_env(environ))
    known = set(ServeConfig.__dataclass_fields__)
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    config = ServeConfig()
    for name, value in values.items():
        if name in _INTS:
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise ConfigError(f"{name}: {value!r} is not a whole number") from None
            if value < 1:
                raise ConfigError(f"{name}: {value} is not at least 1")
        elif name in _PATHS:
            value = Path(value).expanduser()
        elif name == "secrets":
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise ConfigError("secrets: give a list of strings (two during a rotation)")
        elif name == "inventories":
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise ConfigError("inventories: give a table of name = path (relative to project_dir)")
        elif not isinstance(value, str):
            shown = "the value" if name == "awx_token" else repr(value)
            raise ConfigError(f"{name}: {shown} is not a string")
        setattr(config, name, value)
    _check(config)
    return config


def _check(config: ServeConfig) -> None:
    if not config.secrets:
        raise ConfigError("secrets: none given; set COLDRIG_SERVE_SECRETS or `secrets = [...]` in the config file "
                          "(e.g. from `python3 -c 'import secrets; print(secrets.token_hex(32))'`)")
    if len(config.secrets) > 2:
        raise ConfigError(f"secrets: {len(config.secrets)} given; at most two are valid at once (old and new)")
    for index, secret in enumerate(config.secrets):
        if len(secret) < MIN_SECRET_LENGTH:
            # The value is a secret: name its position, never the value.
            raise ConfigError(f"secrets[{index}]: shorter than {MIN_SECRET_LENGTH} characters; "
                              "use e.g. `python3 -c 'import secrets; print(secrets.token_hex(32))'`")
    host, sep, port = config.bind.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"bind: {config.bind!r} is not host:port, e.g. 127.0.0.1:8787")
    if config.default_inventory not in config.inventories:
        raise ConfigError(f"default_inventory: {config.default_inventory!r} is not one of the inventories "
                          f"({', '.join(sorted(config.inventories))})")
    if config.dispatch not in DISPATCHERS:
        raise ConfigError(f"dispatch: {config.dispatch!r} is not one of {', '.join(DISPATCHERS)}")
    if config.dispatch == "awx":
        _check_awx(config)
    if not config.playbook_path.is_file():
        raise ConfigError(f"playbook: {config.playbook_path} does not exist (project_dir {config.project_dir})")


def _check_awx(config: ServeConfig) -> None:
    url = urlsplit(config.awx_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigError(f"awx_url: {config.awx_url!r} is not the URL of AWX's API, "
                          "e.g. https://awx.example.com/api/v2 (needed with dispatch = awx)")
    if not config.awx_token:
        # The token is a secret: say where it goes, never echo one.
        raise ConfigError("awx_token: none given; set COLDRIG_SERVE_AWX_TOKEN to an AWX OAuth2 token "
                          "(AWX: Users > Tokens, scope Write) -- needed with dispatch = awx")
    if not all(33 <= ord(char) <= 126 for char in config.awx_token):
        raise ConfigError("awx_token: not printable ASCII without spaces (check COLDRIG_SERVE_AWX_TOKEN)")
    if config.awx_job_template < 1:
        raise ConfigError("awx_job_template: none given; the id of the AWX job template that runs "
                          "playbooks/onboard.yml (docs/awx.md) -- needed with dispatch = awx")
