"""The download_alert role refuses bad input in its first tasks, naming the variable and value.

Runs the real role with ansible-playbook against localhost, in check mode as a safety net
(nothing could be written even if validation let something through), and asserts that the
play stops at validation: no task after tasks/validate.yml ran."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[4]

GOOD = {"name": "citizens", "source": "audit", "paths": ["/"], "threshold": 100, "window": 60}
JSONLOG = {"name": "exports", "source": "jsonlog", "log": "/tmp/app.jsonl", "user": "u", "count": "n"}


def run_role(tmp_path, datasets, reviewed_on="2026-10-01", extra=None):
    play = tmp_path / "play.yml"
    play.write_text(
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n"
        "  roles: [{role: pii_guard.safeguards.download_alert}]\n"
    )
    extra = {
        "download_alert_datasets": datasets,
        "download_alert_reviewed_on": reviewed_on,
        "ansible_python_interpreter": sys.executable,
        **(extra or {}),
    }
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    cmd = ["ansible-playbook", "-i", "localhost,", "--check", str(play), "-e", json.dumps(extra)]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(
    ("datasets", "message"),
    [
        ([dict(GOOD, threshold=-5)], "threshold must be a positive integer, got -5"),
        ([dict(GOOD, source="ftp")], "value of source must be one of: audit, pgaudit, jsonlog, got: ftp"),
        ([dict(JSONLOG, threshold=10, window=60, user="user[?")], "'user[?' is not a valid JMESPath expression"),
        ([dict(GOOD, paths=["/nonexistent/pii-data"])], "do not exist on this host: /nonexistent/pii-data"),
    ],
)
@pytest.mark.control("6-5.agent_config")
def test_role_refuses_bad_config_before_any_change(tmp_path, datasets, message):
    out = run_role(tmp_path, datasets)
    text = out.stdout + out.stderr
    assert out.returncode != 0
    assert message in text, text[-3000:]
    assert "Install |" not in text  # stopped before the first task that could change the host


@pytest.mark.control("6-5.pgaudit_active")
def test_role_refuses_a_pg_preload_item_that_would_inject_settings(tmp_path):
    pg = {
        "name": "db",
        "source": "pgaudit",
        "log": "/tmp/pg.log",
        "database": "pii",
        "tables": ["citizens"],
        "threshold": 1000,
        "window": 60,
    }
    out = run_role(tmp_path, [pg], extra={"download_alert_pg_preload": ["pgaudit", "x'\nlog_min_messages = 'panic"]})
    text = out.stdout + out.stderr
    assert out.returncode != 0
    assert "download_alert_pg_preload[1]:" in text and "is not a library name" in text, text[-3000:]
    assert "Install |" not in text


@pytest.mark.control("6-5.threshold_review")
def test_role_refuses_bad_review_date(tmp_path):
    out = run_role(tmp_path, [GOOD], reviewed_on="next spring")
    assert out.returncode != 0
    assert "reviewed_on must be a date YYYY-MM-DD, got 'next spring'" in out.stdout + out.stderr


def run_with_inventory(tmp_path, host_vars, extra=None):
    """The role in audit mode on localhost, with ``host_vars`` in an inventory file (not -e)."""
    inv = tmp_path / "inv"
    (inv / "host_vars").mkdir(parents=True, exist_ok=True)
    (inv / "hosts.yml").write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n")
    (inv / "host_vars" / "localhost.yml").write_text(json.dumps(host_vars))
    play = tmp_path / "play.yml"
    play.write_text(
        "- hosts: localhost\n  gather_facts: false\n  roles: [{role: pii_guard.safeguards.download_alert}]\n"
        "  post_tasks:\n    - {name: Show, ansible.builtin.debug: {var: pii_guard_findings}}\n"
    )
    extra = {"download_alert_datasets": [GOOD], "download_alert_reviewed_on": "2026-10-01",
             "ansible_python_interpreter": sys.executable, "pii_guard_audit": True, **(extra or {})}  # fmt: skip
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    cmd = ["ansible-playbook", "-i", str(inv), "--check", str(play), "-e", json.dumps(extra)]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.control("6-5.alerts_acknowledged")
def test_role_reads_the_acknowledgement_register_as_data_and_refuses_a_bad_one(tmp_path):
    canary = tmp_path / "canary"
    note = "{{ lookup('pipe', 'touch %s') }}" % canary
    ack = {"alert": "dl-0123456789abcdef", "reviewed_by": "Sato", "reviewed_on": "2026-11-01", "outcome": "legitimate"}
    out = run_with_inventory(tmp_path, {"download_alert_acknowledgements": [dict(ack, note=note)]})
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-3000:]
    assert '"id": "6-5.alerts_acknowledged"' in text and not canary.exists()
    bad = [dict(ack, note=note, reviewed_on="2026-02-30"), dict(ack, outcome="fine")]
    out = run_with_inventory(tmp_path, {"download_alert_acknowledgements": bad})
    text = out.stdout + out.stderr
    assert out.returncode != 0 and not canary.exists()
    assert 'download_alert_acknowledgements[0].reviewed_on must be a date YYYY-MM-DD, got \\"2026-02-30\\"' in text
    assert "download_alert_acknowledgements[1].alert" in text and "acknowledged twice" in text
    assert "download_alert_acknowledgements[1].outcome must be one of legitimate, investigating, incident" in text
    assert "Install |" not in text and "download_alert_info" not in text.split("Validate | the acknowledgement")[-1]
