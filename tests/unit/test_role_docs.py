"""The README variable table of every role is generated from its argument specs (scripts/role-docs),
and every default of a role is declared there."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "role-docs"

SPECS = """\
argument_specs:
  main:
    short_description: A role.
    options:
      demo_port:
        type: int
        default: 25
        description: The port.
"""


def role_docs(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False)


def make_role(root, defaults):
    role = root / "roles" / "demo"
    (role / "defaults").mkdir(parents=True)
    (role / "meta").mkdir()
    (role / "defaults" / "main.yml").write_text(defaults)
    (role / "meta" / "argument_specs.yml").write_text(SPECS)
    (role / "README.md").write_text("# demo\n<!-- BEGIN role-variables -->\n<!-- END role-variables -->\n")
    role_docs("--root", str(root))  # write the table
    return role


def test_every_role_readme_lists_its_variables_as_the_argument_specs_say():
    result = role_docs("--check")
    assert result.returncode == 0, result.stderr


def test_role_with_every_default_declared_passes(tmp_path):
    make_role(tmp_path, "---\ndemo_port: 25\n")
    result = role_docs("--check", "--root", str(tmp_path))
    assert result.returncode == 0, result.stderr


def test_default_missing_from_the_argument_specs_fails_naming_role_and_variable(tmp_path):
    make_role(tmp_path, "---\ndemo_port: 25\ndemo_max_age: 604800\n")
    for args in (["--check"], []):  # rewriting the tables fails on it too
        result = role_docs(*args, "--root", str(tmp_path))
        assert result.returncode == 1
        assert "roles/demo/defaults/main.yml: demo_max_age is not declared in meta/argument_specs.yml" in result.stderr
        assert "demo_port" not in result.stderr
