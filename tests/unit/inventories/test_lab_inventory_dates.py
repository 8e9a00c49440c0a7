"""The lab inventory's registers stay current: their dates are templated from today.

Ansible itself renders inventories/lab (an ad-hoc `debug` on the controller, no connection),
and the rendered registers go through the same pure functions the roles call: 7-1 room
register, 8-4/8-5/8-6 contractor register, the 6-17 USB register and the 6-5 threshold review.
Once with today's date, once with the lab's day moved 400 days ahead (-e pii_guard_lab_today)
and the checks run on that day: both pass. The same registers rendered today but checked 400
days later fail, so the pass is owed to the relative dates, not to lenient checks.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
from pathlib import Path

import pytest

from ansible_collections.pii_guard.safeguards.plugins.module_utils.download import window as W
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb import register as U
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.registers import outsourcing, system_room

ROOT = Path(__file__).resolve().parents[3]
AHEAD = 400
VARS = (
    "{{ {'today': pii_guard_lab_today, 'groups': groups, 'room': system_room_register | default(None),"
    " 'contractors': outsourcing_contractors, 'usb': usb_storage_devices,"
    " 'reviewed_on': download_alert_reviewed_on | default(None),"
    " 'interval': download_alert_review_interval_days | default(None)} }}"
)


def utc_today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


def render(lab_today: str | None = None) -> dict[str, dict]:
    """Every lab host's registers as Ansible templates them: {host: {...}}."""
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        PYTHONPATH=str(ROOT / ".cache" / "collections"),
        # JSON on stdout and nothing else (the configured profile_tasks prints timings).
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_CALLBACKS_ENABLED="ansible.posix.json",
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
    )
    cmd = [str(ROOT / ".venv" / "bin" / "ansible"), "-i", "inventories/lab", "all"]
    cmd += ["-m", "ansible.builtin.debug", "-a", "msg=" + VARS]
    if lab_today is not None:
        cmd += ["-e", "pii_guard_lab_today=" + lab_today]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    hosts = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]
    return {h: r["msg"] for h, r in hosts.items()}


def check(hosts: dict[str, dict], day: datetime.date) -> dict[str, list[str]]:
    """Statuses per check on ``day``: {check: [status, ...]} over the lab hosts."""
    out: dict[str, list[str]] = {}
    first = next(iter(hosts.values()))
    groups = first["groups"]
    contractors = outsourcing.outsourcing_findings(first["contractors"], {}, groups, groups["all"], day.isoformat())
    assert contractors["errors"] == []
    out["8-x organisation"] = [f["status"] for f in contractors["organisation"]]
    out["8-x hosts"] = [h + " " + f["status"] for h, fs in contractors["hosts"].items() for f in fs]
    for _host, v in sorted(hosts.items()):
        if v["room"] is not None:
            room = system_room.room_evaluate(v["room"], day.isoformat())
            assert room["errors"] == []
            out.setdefault("7-1", []).extend(f["status"] for f in room["findings"])
        if v["reviewed_on"] is not None:
            ok, age, _due = W.review_status(v["reviewed_on"], v["interval"], day)
            out.setdefault("6-5 review", []).append("pass" if ok else "fail (%d days)" % age)
        usb = U.validate_register(v["usb"], day)
        out.setdefault("6-17 active", []).extend(e["serial"] for e in usb.active)
    return out


def assert_current(hosts: dict[str, dict], day: datetime.date) -> None:
    got = check(hosts, day)
    assert got["8-x organisation"] == ["pass"] * 3, got
    # pg-lab-2 is the host the contractor operates: 8-4, 8-5, 8-6 attached to it.
    assert got["8-x hosts"] == ["pg-lab-2 pass"] * 3, got
    assert got["7-1"] == ["pass", "pass"], got  # pg-lab-3, the one system-room host
    assert got["6-5 review"] == ["pass"], got  # pg-lab-2, the one pii_data host
    # The agency stick stays active; the revoked (and expired) one stays refused.
    assert set(got["6-17 active"]) == {"AGENCY0001"}, got


@pytest.mark.parametrize("days_ahead", [0, AHEAD])
def test_lab_registers_pass_on_the_day_they_are_rendered(days_ahead: int) -> None:
    today = utc_today()
    if days_ahead == 0:
        hosts = render()
        # Ansible's "today" is the controller's UTC date (a run across midnight may see the next).
        day = datetime.date.fromisoformat(next(iter(hosts.values()))["today"])
        assert day in (today, today + datetime.timedelta(days=1))
    else:
        day = today + datetime.timedelta(days=days_ahead)
        hosts = render(day.isoformat())
        assert {v["today"] for v in hosts.values()} == {day.isoformat()}
    assert sorted(hosts) == ["pg-lab-1", "pg-lab-2", "pg-lab-3"]
    assert_current(hosts, day)
    # The revoked stick keeps its fixed dates: still the intentionally bad entry.
    old = [e for e in next(iter(hosts.values()))["usb"] if e["serial"] == "AGENCY0002"]
    assert [(e["state"], e["expires_on"]) for e in old] == [("revoked", "2026-03-31")]


def test_registers_rendered_today_are_stale_400_days_later() -> None:
    hosts = render()
    day = datetime.date.fromisoformat(next(iter(hosts.values()))["today"]) + datetime.timedelta(days=AHEAD)
    got = check(hosts, day)
    assert got["7-1"] == ["fail", "fail"], got
    assert "fail" in got["8-x organisation"], got  # 8-5: the inspection is over 365 days old
    assert got["6-5 review"][0].startswith("fail"), got
    assert got["6-17 active"] == [], got  # the stick's expiry passed
