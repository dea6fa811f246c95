"""The body of ``POST /v1/onboardings``: the onboarding spec plus where to run it.

    {"inventory": "lab", "nodes": ["node1"], "on_busy": "wait",
     "coldrig_domains": [{"name": "example.com", "mailboxes": 5}],
     "coldrig_backend": "postfix", "coldrig_dns": {"provider": "cloudflare", "api_token": "..."}}

The spec variables are those of docs/onboarding-spec.md that a request may set; they are checked
with the checker playbooks/check.yml uses (plugins/module_utils/onboarding_spec.py) before a job
exists. The checks that need a node's address (the records) run again in check.yml, the job's
first step.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

from coldrig.serve import callback

SPEC_KEYS = (
    "coldrig_domains", "coldrig_backend", "coldrig_dns", "coldrig_tls", "coldrig_trusted_networks",
    "coldrig_mailbox_quota", "coldrig_rotate_passwords", "coldrig_check_dns_servers",
)
REQUEST_KEYS = ("inventory", "nodes", "on_busy", "callback_url")
ON_BUSY = ("wait", "refuse")
MAX_NODES = 100
MAX_DEPTH = 32
MASK = "********"
# Keys whose values are secrets wherever they appear in a spec (api_token, tsig_key_secret, ...).
SECRET_KEY = re.compile(r"token|secret|password|passwd|private", re.IGNORECASE)


def spec_checker(project_dir: Path):
    """The spec checker module of the collection in ``project_dir`` (the one check.yml runs)."""
    collections = str(Path(project_dir).resolve() / "collections")
    if collections not in sys.path:
        sys.path.append(collections)
    return importlib.import_module("ansible_collections.coldrig.infra.plugins.module_utils.onboarding_spec")


def module_util(project_dir: Path, name: str):
    """``plugins/module_utils/<name>.py`` of the collection in ``project_dir``."""
    spec_checker(project_dir)
    return importlib.import_module(f"ansible_collections.coldrig.infra.plugins.module_utils.{name}")


def validate_module(project_dir: Path):
    """The one validator module (plugins/module_utils/validate.py) of the collection in ``project_dir``."""
    return module_util(project_dir, "validate")


def _depth(value) -> int:
    """How deeply lists and objects nest in ``value`` (without recursion: any depth is measured)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            todo.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def problems(body, inventories, checker, validate) -> list[str]:
    """Every problem of a request body, each starting with the field it is about."""
    if not isinstance(body, dict):
        return [f"body: {type(body).__name__} is not a JSON object of the onboarding spec plus inventory and nodes"]
    # The checker and the masking walk values recursively: refuse what nests deeper than a spec can.
    deep = [f"{key}: nested deeper than {MAX_DEPTH} levels" for key, value in body.items() if _depth(value) > MAX_DEPTH]
    if deep:
        return deep
    errors = []
    unknown = sorted(set(body) - set(SPEC_KEYS) - set(REQUEST_KEYS))
    if unknown:
        errors.append(f"body: unknown key(s) {', '.join(map(str, unknown))} "
                      f"(known: {', '.join(REQUEST_KEYS + SPEC_KEYS)})")
    inventory = body.get("inventory")
    if inventory is not None and (not isinstance(inventory, str) or inventory not in inventories):
        errors.append(f"inventory: {inventory!r} is not one of {', '.join(sorted(inventories))}")
    nodes = body.get("nodes")
    if not isinstance(nodes, list) or not nodes:
        errors.append("nodes: give a list of the inventory's node names, e.g. [\"node1\"]")
    elif len(nodes) > MAX_NODES:
        errors.append(f"nodes: {len(nodes)} nodes; at most {MAX_NODES} per request")
    else:
        for index, node in enumerate(nodes):
            problem = validate.hostname_problem(node) if isinstance(node, str) else "is not a string"
            if problem:
                errors.append(f"nodes[{index}]: {node!r} {problem}")
        if len({str(node) for node in nodes}) != len(nodes):
            errors.append("nodes: a node is listed twice")
    on_busy = body.get("on_busy", "wait")
    if on_busy not in ON_BUSY:
        errors.append(f"on_busy: {on_busy!r} is not one of {', '.join(ON_BUSY)}")
    if "callback_url" in body:
        problem = callback.url_problem(body["callback_url"])
        if problem:
            # The URL may carry a token: the error names the field, not the value.
            errors.append(f"callback_url: {problem}")
    errors.extend(checker.domain_errors(body.get("coldrig_domains")))
    if "coldrig_backend" in body:
        errors.extend(checker.backend_errors(body["coldrig_backend"]))
    if "coldrig_dns" in body:
        errors.extend(checker.dns_errors(body["coldrig_dns"]))
    return errors


def spec_of(body: dict) -> dict:
    return {key: body[key] for key in SPEC_KEYS if key in body}


def secret_fields(value, path: str = "") -> list[str]:
    """The paths (``coldrig_dns.api_token``) of the secret keys in ``value`` that have a value."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and SECRET_KEY.search(key) and item not in (None, ""):
                found.append(where)
            else:
                found.extend(secret_fields(item, where))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(secret_fields(item, f"{path}[{index}]"))
    return found


def masked(value):
    """A copy of ``value`` with the values of secret keys replaced by a mask."""
    if isinstance(value, dict):
        return {key: MASK if isinstance(key, str) and SECRET_KEY.search(key) and value[key] not in (None, "")
                else masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [masked(item) for item in value]
    return value
