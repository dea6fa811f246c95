# coldrig — two commands for a fresh Debian 12 machine: `make demo` and `make test`.
# Both install what they need (Debian packages, a .venv) before they run.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= /usr/bin/python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
export PATH := $(BIN):$(PATH):/usr/sbin:/sbin
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_HOME := $(CURDIR)/.ansible
export PYTHONDONTWRITEBYTECODE := 1

# The lab, the demo and the tests run Ansible with mitogen's strategy: under TCG a module
# call costs seconds of Python start-up in the guest, and mitogen keeps one interpreter
# per host (3-6x faster). It is an accelerator, never a dependency of the playbooks:
# COLDRIG_MITOGEN=0 runs ansible-core's own linear strategy.
COLDRIG_MITOGEN ?= 1
ifeq ($(COLDRIG_MITOGEN),1)
export ANSIBLE_STRATEGY_PLUGINS := $(VENV)/lib/python3.11/site-packages/ansible_mitogen/plugins/strategy
export ANSIBLE_STRATEGY := mitogen_linear
endif

# Molecule scenarios run by `make test` (molecule/<name>/).
# base: its checks are part of onboard's verify (molecule/onboard/verify.yml); run it with SCENARIOS=base.
SCENARIOS ?= mail_dns harden onboard
DEMO_NODES ?= 1

.PHONY: demo test deps venv unit lint sanity integration molecule build bench lab-down clean help

help:
	@echo "make demo   - start the lab and run the onboarding against it"
	@echo "make test   - the whole test suite (unit, lint, sanity, lab integration, molecule)"

## Install ------------------------------------------------------------------
deps:
	@scripts/install-debian-packages

$(VENV)/.installed: pyproject.toml requirements/constraints.txt
	@echo "==> installing the Python environment into .venv"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --disable-pip-version-check -c requirements/constraints.txt pip
	@$(BIN)/pip install -q --disable-pip-version-check -c requirements/constraints.txt -e '.[dev]'
	@touch $@

venv: deps $(VENV)/.installed

## The two commands --------------------------------------------------------
demo: venv
	@$(BIN)/coldrig lab up --nodes $(DEMO_NODES)
	@$(BIN)/ansible-playbook playbooks/onboard.yml </dev/null
	@echo "==> the lab is still up: 'coldrig lab status', 'coldrig lab ssh node1', 'coldrig lab down'"

test: venv
	@SCENARIOS='$(SCENARIOS)' scripts/run-tests

## The parts of `make test`, one by one -----------------------------------
unit: venv
	@$(BIN)/pytest tests/unit </dev/null

lint: venv
	@$(BIN)/ansible-lint --profile production </dev/null

sanity: venv
	@scripts/ansible-test-sanity

integration: venv
	@COLDRIG_LAB_IMAGE=$${COLDRIG_LAB_IMAGE:-mail} $(BIN)/pytest tests/integration </dev/null

molecule: venv
	@for scenario in $(SCENARIOS); do COLDRIG_LAB_IMAGE=$${COLDRIG_LAB_IMAGE:-mail} $(BIN)/molecule test -s $$scenario </dev/null; done

build: venv
	@$(BIN)/ansible-galaxy collection build --force --output-path build/

bench: venv
	@$(BIN)/python bench/lab.py
	@$(BIN)/python bench/dns_cloudflare.py
	@$(BIN)/python bench/cloud_inventory.py
	@$(BIN)/python bench/harden.py
	@$(BIN)/python bench/onboard.py
	@$(BIN)/python bench/mailboxes.py
	@$(BIN)/python bench/serve.py

lab-down: venv
	@$(BIN)/coldrig lab down

clean:
	rm -rf build tests/output .pytest_cache
