# pii_guard.safeguards — the two commands a newcomer runs: `make demo` and `make test`.
# Every target installs what it needs and is safe to re-run.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
COLL := $(ROOT)/.cache/collections
# .cache/hosttools: usbguard-rule-parser and ausearch unpacked by tools/apt-deps.sh (see there why).
export PATH := $(VENV)/bin:$(ROOT)/.cache/hosttools/usr/bin:$(ROOT)/.cache/hosttools/sbin:$(PATH)
# Project-local podman settings (runc, cgroupfs, ulimits); the user's global config is untouched.
export CONTAINERS_CONF := $(ROOT)/tests/lab/containers.conf
export ANSIBLE_CONFIG := $(ROOT)/ansible.cfg
export PYTHONPATH := $(COLL)
export ANSIBLE_FORCE_COLOR ?= 0
LAB := $(PY) $(ROOT)/tests/lab/lab.py
# Debian release of the lab endpoints for `make lab`/`make demo`: 12 (bookworm, the default,
# see README) or 13 (trixie): `make demo PII_GUARD_LAB_RELEASE=13` or the same in the environment.
export PII_GUARD_LAB_RELEASE ?= 12
# Molecule runs every scenario on each of these; the VM suite runs on VM_RELEASE: Debian 13, the
# current stable (both VMs do not fit in CI time on 2 cores; `make vm-12` runs it on 12).
MOLECULE_RELEASES ?= 12 13
VM_RELEASE ?= 13
# Unit tests run on every core (pytest-xdist); UNIT_JOBS=0 runs them in one process.
UNIT_JOBS ?= auto
, := ,
step = @printf '\n==> %s\n' "$(1)"

.PHONY: help preflight apt venv deps lint ruff ansible-lint sanity unit images run-images integration molecule vm \
        vm-12 run-integration run-molecule run-vm test lab lab-down demo bench sudo-oracle docs changelog clean

help:
	@echo "make demo   build the local lab, harden it, run the auditor's check, write reports/"
	@echo "make test   everything CI runs (lint, sanity, unit, molecule, VM tests)"
	@echo "make bench  benchmarks under tests/bench/ (ratios against a baseline)"
	@echo "make lab-down  stop and remove the lab endpoints"
	@echo "make vm-12  the VM tests on Debian 12 (make test runs them on 13)"
	@echo "make sudo-oracle  the 6-6 parser against the real sudo on 10,000 generated sudoers configurations (N=...)"
	@echo "PII_GUARD_LAB_RELEASE=13 make demo   the lab on Debian 13 instead of 12"

preflight:
	@bash tools/preflight.sh

apt: preflight
	$(call step,system packages (apt))
	@bash tools/apt-deps.sh

$(VENV)/.stamp: requirements.txt
	$(call step,Python virtualenv .venv (ansible-core 2.19, ansible 12, molecule, ...))
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --progress-bar off -r requirements.txt > $(VENV)/pip.log 2>&1 \
	  || { tail -n 30 $(VENV)/pip.log; exit 1; }
	@touch $@

$(COLL)/ansible_collections/pii_guard/safeguards:
	@mkdir -p $(COLL)/ansible_collections/pii_guard
	@ln -sfn ../../../.. $@

venv: preflight $(VENV)/.stamp $(COLL)/ansible_collections/pii_guard/safeguards

deps: apt venv

ruff: venv
	$(call step,ruff)
	@ruff check . && ruff format --check .

ansible-lint: venv
	$(call step,ansible-lint (production profile))
	@ansible-lint --offline -q

lint: ruff ansible-lint docs-check

# Generated: the catalog's per-control test lists (from @pytest.mark.control), the README control
# table, every role README (from meta/argument_specs.yml) and docs/device_classes.md.
docs-check: venv
	$(call step,generated docs and catalog test lists up to date (make docs))
	@$(PY) tools/catalog_docs.py --check

docs: venv
	@$(PY) tools/catalog_docs.py --write

sanity: venv
	$(call step,ansible-test sanity on a temporary ansible_collections tree)
	@bash tools/sanity.sh

unit: venv
	$(call step,unit tests (no hosts))
	@pytest -q -n $(UNIT_JOBS) tests/unit

lab: deps
	$(call step,lab base image (cached by recipe digest))
	@$(LAB) image
	$(call step,lab endpoints)
	@$(LAB) up 3

lab-down: venv
	@$(LAB) down

images: deps
	@$(MAKE) --no-print-directory run-images

# make test runs its steps as one queue of jobs on TEST_WORKERS workers (tools/lanes.py says why):
# a free worker takes the first job in this order whose `:after` jobs have passed. The VM suite,
# the longest, starts as soon as its disk is there; lint, sanity and unit run meanwhile; the
# molecule scenarios, one job per release and scenario, fill both workers up to the end.
# Output is prefixed per job; whole logs in .cache/lanes/. No new job starts after a failure.
TEST_WORKERS ?= 2
# windows needs a real Windows host (extensions/molecule/windows/README.md)
MOLECULE_SCENARIOS := $(filter-out windows,$(notdir $(patsubst %/molecule.yml,%,$(wildcard extensions/molecule/*/molecule.yml))))
sub = $(MAKE) --no-print-directory
TEST_JOBS = 'images=$(sub) run-images' \
  'vm:images=$(sub) run-vm' \
  'lint=$(sub) lint' 'sanity=$(sub) sanity' 'unit=$(sub) unit' \
  'integration:images=$(sub) run-integration' \
  $(foreach r,$(MOLECULE_RELEASES),$(foreach s,$(MOLECULE_SCENARIOS),\
    'molecule-$(r)-$(s):images=MOLECULE_RELEASES=$(r) PY=$(PY) bash tools/molecule-all.sh $(s)'))

molecule: deps
	@$(MAKE) --no-print-directory run-molecule

vm: deps
	@$(MAKE) --no-print-directory run-vm

vm-12: deps
	@$(MAKE) --no-print-directory run-vm VM_RELEASE=12

integration: deps
	@$(MAKE) --no-print-directory run-integration

# run-*: the steps without `deps` (apt must not run twice at once from two jobs).
# Lab images one after the other (the jobs after them only read them).
run-images:
	$(call step,lab images: Debian 12 and 13 containers$(,) Debian $(VM_RELEASE) VM disk (cached by recipe digest))
	@$(LAB) --release 12 image
	@$(LAB) --release 13 image
	@$(LAB) --release $(VM_RELEASE) vm-image

run-molecule:
	$(call step,molecule: every scenario on Debian $(MOLECULE_RELEASES) (lab images cached by recipe digest))
	@MOLECULE_RELEASES="$(MOLECULE_RELEASES)" PY=$(PY) bash tools/molecule-all.sh

run-vm:
	$(call step,VM disk of Debian $(VM_RELEASE) (cached by recipe digest))
	@$(LAB) --release $(VM_RELEASE) vm-image
	$(call step,VM tests on Debian $(VM_RELEASE) (QEMU, real kernel, one shared boot))
	@PII_GUARD_LAB_RELEASE=$(VM_RELEASE) pytest -q -s -p no:cacheprovider tests/vm

run-integration:
	$(call step,integration tests: built collection; offline install; ansible-doc; EE context; ansible-runner audit)
	@$(LAB) image
	@PII_GUARD_LAB_IMAGE=localhost/pii-guard-lab:$(PII_GUARD_LAB_RELEASE) pytest -q -p no:cacheprovider tests/integration

test: deps
	$(call step,the steps of make test as jobs on $(TEST_WORKERS) workers: images$(,) VM suite on Debian $(VM_RELEASE)$(,) lint$(,) sanity$(,) unit$(,) integration$(,) molecule on Debian $(MOLECULE_RELEASES))
	@$(PY) tools/lanes.py --workers $(TEST_WORKERS) $(TEST_JOBS)
	@echo; echo "make test: all steps passed"

demo: lab
	$(call step,harden the lab endpoints (playbooks/harden.yml))
	@ansible-playbook -i inventories/lab playbooks/harden.yml
	$(call step,auditor's verify-only check (playbooks/audit.yml))
	@ansible-playbook -i inventories/lab playbooks/audit.yml -e pii_guard_audit_fail_on_findings=false
	$(call step,screenshot of the HTML report (headless Chromium))
	@bash tools/report_screenshot.sh reports/latest
	@echo; echo "Report: $$(readlink -f reports/latest)"

bench: deps
	$(call step,benchmarks (tests/bench))
	@$(LAB) image
	@for b in tests/bench/bench_*.py; do [ -e "$$b" ] || continue; echo "--- $$b"; $(PY) "$$b"; done

# Issue 13: the sudoers parser against the real sudo on 10,000 generated configurations
# (measured: 1,000 configurations a minute on 2 idle cores, about 10 minutes; make test runs 500
# of them in tests/integration/test_sudo_oracle.py).
sudo-oracle: deps
	$(call step,sudoers parser vs real sudo: $(or $(N),10000) generated configurations)
	@$(LAB) image
	@$(PY) tests/integration/sudo_oracle.py $(or $(N),10000)

changelog: venv
	@antsibull-changelog release

clean: lab-down
	rm -rf .cache reports
