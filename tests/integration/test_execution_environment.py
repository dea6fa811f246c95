"""execution-environment.yml: ansible-builder makes its build context offline, with the collection and its needs.

No container runtime or registry is reachable here, so the image itself is not built; what
`ansible-builder build` would build from is checked instead: the context that
`ansible-builder create` writes, and the collection's dependencies as ansible-builder's own
introspection reads them from the built collection.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(*command: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    result = subprocess.run([str(BIN / command[0]), *command[1:]], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=300, check=False, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def package(requirement: str) -> str:
    return re.split(r"[<>=!~\s;#\[]", requirement.strip(), maxsplit=1)[0].lower()


def test_execution_environment_context_has_the_collection_and_its_python_needs(tmp_path):
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    definition = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    tarball = "coldrig-infra-%s.tar.gz" % galaxy["version"]
    assert definition["version"] == 3
    assert definition["additional_build_files"][0]["src"] == "build/" + tarball, "the EE names another version"
    assert definition["dependencies"]["galaxy"]["collections"] == [{"name": "coldrig/" + tarball, "type": "file"}]

    # the collection as `make build` makes it, beside a copy of the definition
    work = tmp_path / "ee"
    (work / "build").mkdir(parents=True)
    shutil.copy(ROOT / "execution-environment.yml", work)
    run("ansible-galaxy", "collection", "build", "--output-path", str(work / "build"), str(ROOT), cwd=tmp_path)
    assert (work / "build" / tarball).is_file()

    run("ansible-builder", "create", "-f", "execution-environment.yml", "-c", "context", cwd=work)
    context = work / "context"
    dockerfile = (context / "Dockerfile").read_text()
    assert "ansible-galaxy collection install" in dockerfile and "-r requirements.yml" in dockerfile
    assert 'ARG PYCMD="/usr/bin/python3.11"' in dockerfile
    pinned_core = next(d for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
                       if package(d) == "ansible-core")
    assert pinned_core.replace(" ", "") in dockerfile.replace(" ", ""), "the EE's ansible-core is not pyproject's"
    assert (context / "_build" / "coldrig" / tarball).read_bytes() == (work / "build" / tarball).read_bytes()
    assert yaml.safe_load((context / "_build" / "requirements.yml").read_text()) == {
        "collections": [{"name": "coldrig/" + tarball, "type": "file"}]}

    # what ansible-builder's introspection finds in the installed collection: every runtime dependency
    collections = tmp_path / "collections"
    run("ansible-galaxy", "collection", "install", "--force", "-p", str(collections), str(work / "build" / tarball),
        cwd=tmp_path)
    found = yaml.safe_load(run("ansible-builder", "introspect", "--sanitize", str(collections), cwd=tmp_path))
    wanted = {package(d) for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    wanted -= {"ansible-core", "ansible-runner"}  # the EE's own entries, not the collection's
    wanted -= {"fastapi", "uvicorn"}  # the coldrig command's web hook (coldrig serve), not the collection's plugins
    assert {package(line) for line in found["python"]} == wanted
    assert any(line.startswith("openssh-clients") for line in found["system"])
