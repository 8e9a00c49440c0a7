"""Testinfra verify for the usb_storage scenario (agency_issued_only on a systemd container).

Each testinfra command is one Ansible round trip, so the host state is read once (one
shell script printing JSON) and the tests assert on that snapshot.
"""

from __future__ import annotations

import json

import pytest

RULES = "/etc/usbguard/rules.d/50-pii-guard.conf"
CONF = "/etc/usbguard/usbguard-daemon.conf"
SNAPSHOT = r"""
import json, os, subprocess
def rd(p):
    try:
        return open(p).read()
    except OSError:
        return None
def st(p):
    try:
        s = os.stat(p)
        return {"mode": s.st_mode & 0o7777, "uid": s.st_uid}
    except OSError:
        return None
def run(*a):
    r = subprocess.run(a, capture_output=True, text=True)
    return {"rc": r.returncode, "out": r.stdout.strip(), "err": r.stderr.strip()}
print(json.dumps({
    "rules": rd("%(rules)s"), "rules_stat": st("%(rules)s"),
    "rule_file": rd("/etc/usbguard/rules.conf"), "rule_dir": sorted(os.listdir("/etc/usbguard/rules.d")),
    "conf": rd("%(conf)s"), "conf_stat": st("%(conf)s"),
    "modprobe": os.path.exists("/etc/modprobe.d/pii-guard-usb-storage.conf"),
    "usb_bus": os.path.isdir("/sys/bus/usb/devices"),
    "parser": run("usbguard-rule-parser", "-f", "%(rules)s"),
    "pkg": run("dpkg-query", "-W", "-f", "${Status}", "usbguard"),
    "active": run("systemctl", "is-active", "usbguard")["out"],
    "journal": run("journalctl", "-q", "--no-pager", "-u", "usbguard.service")["out"],
    "policy_rc": os.path.exists("/usr/sbin/policy-rc.d"),
    "buses": rd("/etc/modprobe.d/pii-guard-buses.conf"),
    "buses_stat": st("/etc/modprobe.d/pii-guard-buses.conf"),
    "obex_masks": [st(p) and os.path.getsize(p) for p in
                   ("/etc/systemd/user/obex.service", "/etc/systemd/user/dbus-org.bluez.obex.service")],
    "obex_global": run("systemctl", "--global", "is-enabled", "obex.service"),
}))
""" % {"rules": RULES, "conf": CONF}


@pytest.fixture(scope="module")
def state(host):
    return json.loads(host.check_output("python3 -c %s" % _quote(SNAPSHOT)))


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def rule_lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


@pytest.mark.control("6-17.usbguard_rules")
def test_rules_file_mode_owner_and_content(state):
    assert state["rules_stat"] == {"mode": 0o600, "uid": 0}
    assert rule_lines(state["rules"]) == [
        "allow with-interface match-all { 03:*:* 09:00:* 0b:*:* }",
        'allow id 46f4:0001 serial "AGENCY0001" label "pii-guard:PC-USB-0001"',
        'allow id 18d1:4ee1 serial "PHONE0004" label "pii-guard:PHONE-0004"',
    ]


@pytest.mark.control("6-17.device_register")
def test_revoked_expired_and_other_groups_never_rendered(state):
    for serial in ("LOST0002", "OLD0003", "ROOM0005"):
        assert serial not in state["rules"]


@pytest.mark.control("6-17.usbguard_rules")
def test_rules_accepted_by_usbguard_parser_on_host(state):
    assert state["parser"]["rc"] == 0, state["parser"]


@pytest.mark.control("6-17.usbguard_rules")
def test_no_other_rule_source(state):
    assert rule_lines(state["rule_file"]) == []
    assert state["rule_dir"] == ["50-pii-guard.conf"]


@pytest.mark.control("6-17.usbguard_daemon_config")
def test_daemon_config(state):
    assert state["conf_stat"] == {"mode": 0o600, "uid": 0}
    keys = dict(ln.split("=", 1) for ln in state["conf"].splitlines() if "=" in ln and not ln.lstrip().startswith("#"))
    assert keys["ImplicitPolicyTarget"] == "block"
    assert keys["PresentDevicePolicy"] == "apply-policy"
    assert keys["InsertedDevicePolicy"] == "apply-policy"
    assert keys["IPCAllowedUsers"] == "root"
    assert keys["IPCAllowedGroups"] == "root"
    assert keys["AuditBackend"] == "LinuxAudit"
    assert keys["RuleFolder"] == "/etc/usbguard/rules.d/"


@pytest.mark.control("6-17.usbguard_service")
def test_service_left_alone_without_usb_bus(state):
    # A container has no /sys/bus/usb: usbguard-daemon exits at once there, so the module
    # reports the service not_applicable and does not start it (the VM tests prove the
    # running daemon with a real kernel and USB bus).
    assert state["usb_bus"] is False
    assert state["pkg"]["out"] == "install ok installed"
    assert state["active"] != "active"


@pytest.mark.control("6-17.usbguard_service")
def test_installed_without_the_daemon_ever_starting(state):
    # prepare.yml purged usbguard; the role installed it with service starts held back
    # (policy-rc.d, removed again), so no start was attempted before the rules existed.
    assert state["policy_rc"] is False
    assert "Start" not in state["journal"], state["journal"]


@pytest.mark.control("6-17.storage_driver_disabled")
def test_no_modprobe_dropin_outside_prohibit(state):
    assert state["modprobe"] is False


@pytest.mark.control("6-17.bus_media_blocked")
def test_sd_mmc_thunderbolt_firewire_drivers_blocked_and_obex_masked(state):
    # agency_issued_only with every usb_storage_allow_* switch at its default (false).
    directives = rule_lines(state["buses"] or "")
    assert directives == [
        "install mmc_block /bin/false", "blacklist mmc_block",
        "install thunderbolt /bin/false", "blacklist thunderbolt",
        "install firewire_sbp2 /bin/false", "blacklist firewire_sbp2",
        "install firewire_ohci /bin/false", "blacklist firewire_ohci",
    ]  # fmt: skip
    assert state["buses_stat"] == {"mode": 0o644, "uid": 0}
    assert state["obex_masks"] == [0, 0]  # empty unit files
    # systemd itself reads the empty file as a mask for every user's manager.
    assert state["obex_global"]["out"] == "masked", state["obex_global"]
