"""playbooks/audit.yml: one per-role tasks file for both endpoint plays, clause tables that match the catalog.

The run itself is tested against endpoints in tests/integration (test_audit_zero_write,
test_audit_tags, test_runner_audit, test_bad_inputs); this checks the playbook's shape, so
that a clause added to the catalog cannot be left out of the auditors' run unnoticed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
AUDIT = yaml.safe_load((ROOT / "playbooks" / "audit.yml").read_text(encoding="utf-8"))
ROLE_TASKS = yaml.safe_load((ROOT / "playbooks" / "tasks" / "audit_role.yml").read_text(encoding="utf-8"))
CATALOG = yaml.safe_load((ROOT / "meta" / "controls.yml").read_text(encoding="utf-8"))


def _play(hosts: str) -> dict:
    (play,) = [p for p in AUDIT if p["hosts"] == hosts]
    return play


def _platforms() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for control in CATALOG["controls"]:
        out.setdefault(str(control["clause"]), set()).update(control["platforms"])
    return out


@pytest.mark.parametrize("platform", ["linux", "windows"])
def test_each_endpoint_play_loops_over_the_one_role_tasks_file(platform: str) -> None:
    play = _play(platform)
    assert play["check_mode"] is True and play["vars"]["pii_guard_audit"] is True
    (loop,) = [t for t in play["tasks"] if "ansible.builtin.include_tasks" in t]
    assert loop["ansible.builtin.include_tasks"] == "tasks/audit_role.yml"
    if platform == "windows":
        assert loop["loop"] == "{{ pii_guard_audit_roles }}"
    else:
        # Linux: one audit_host task over the same clause table (it also reaches the host), one
        # set_fact records it, and a meta task (no worker) leaves the host; the role loop runs only
        # with -e pii_guard_audit_engine=roles (the oracle tests/integration/test_audit_one_task_vs_roles.py uses).
        one, record, leave = play["tasks"][:3]
        assert one["pii_guard.safeguards.audit_host"] == {
            "roles": "{{ pii_guard_audit_roles }}",
            "engine": "{{ pii_guard_audit_engine | default('host') }}",
        }
        assert "when" not in one and one["tags"] == ["always"] and one["register"] == "pii_guard_audit_host"
        assert set(record["ansible.builtin.set_fact"]) == {
            "pii_guard_findings", "pii_guard_audit_errors", "pii_guard_audit_state",
            "pii_guard_audit_check_mode", "pii_guard_audit_started_at",
        }  # fmt: skip
        assert "when" not in record
        assert leave["ansible.builtin.meta"] == "end_host"
        done = "pii_guard_audit_state != 'started' or pii_guard_audit_engine | default('host') == 'host'"
        assert leave["when"] == done
        assert loop["loop"] == "{{ pii_guard_audit_roles }}"
        assert play["tasks"].index(loop) == 3
    assert loop["loop_control"]["loop_var"] == "pii_guard_audit_role"
    # Tags on a dynamic include select the include only; the role's tasks carry the clause tags.
    assert loop["tags"] == ["always"]
    # No role is included anywhere else in the endpoint plays.
    assert not [t for t in play["tasks"] if "ansible.builtin.include_role" in str(t)]


@pytest.mark.parametrize("platform", ["linux", "windows"])
def test_clause_tables_cover_every_endpoint_clause_of_the_catalog(platform: str) -> None:
    table = _play(platform)["vars"]["pii_guard_audit_roles"]
    assert {str(r["clause"]): r["name"] for r in table} == {
        clause: c["role"] for clause, c in CATALOG["clauses"].items() if platform in _platforms()[clause]
    }
    # A system-room host gets usb_storage through system_room (prohibit mode), never twice.
    selectors = {r["name"]: (r.get("only_in"), r.get("not_in")) for r in table}
    assert selectors["system_room"] == ("system_room", None)
    assert selectors["usb_storage"] == (None, "system_room")


def test_role_tasks_file_rescues_a_failing_role_into_the_hosts_errors() -> None:
    (block,) = ROLE_TASKS
    (include,) = block["block"]
    assert include["ansible.builtin.include_role"]["name"] == "pii_guard.safeguards.{{ pii_guard_audit_role.name }}"
    assert include["tags"] == ["always"] and "tags" not in block
    (record,) = block["rescue"]
    errors = record["ansible.builtin.set_fact"]["pii_guard_audit_errors"]
    assert "pii_guard_audit_errors +" in errors and "ansible_failed_task.name" in errors
    assert "ansible_failed_result.msg" in errors
    assert record["tags"] == ["always"]
