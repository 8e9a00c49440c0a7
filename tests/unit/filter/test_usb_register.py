"""Controller filters of the 6-17 lifecycle playbook (plugins/filter/usb_register.py)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pii_guard.safeguards.plugins.filter.usb_register import (
    usb_pick_device,
    usb_register_update,
    usb_register_validate,
)

A = {"id": "46f4:0001", "serial": "AGENCY0001", "label": "PC-USB-0001", "issued_on": "2026-04-01", "owner": "tanaka"}
STICK = {"id": "46f4:0001", "serial": "AGENCY0002", "hash": "h=", "storage": True, "smartphone": False, "name": "Q"}
KBD = {"id": "0627:0001", "serial": "42", "storage": False, "smartphone": False, "name": "kbd"}


@pytest.mark.control("6-17.device_register")
def test_validate_names_entry_and_value():
    with pytest.raises(AnsibleFilterError, match=r"usb_storage_devices\[0\] \(label 'PC-USB-0001'.*'46f4-0001'"):
        usb_register_validate([dict(A, id="46f4-0001")], "2026-11-28")
    out = usb_register_validate([A, dict(A, serial="X", label="L", state="revoked")], "2026-11-28")
    assert [e["label"] for e in out["active"]] == ["PC-USB-0001"]
    assert out["inactive"][0]["reason"] == "revoked" and out["inactive"][0]["issued_on"] == "2026-04-01"


def test_validate_checks_the_roles_mode_and_switches_in_the_same_pass():
    # The role validates its whole input in one task: every bad value is named at once.
    with pytest.raises(AnsibleFilterError) as err:
        usb_register_validate(
            [A], "2026-11-28", mode="open", switches={"usb_storage_block_optical": "maybe", "usb_storage_x": True}
        )
    assert str(err.value) == (
        'usb_storage_mode "open" is not one of prohibit, agency_issued_only, audit_only; '
        'usb_storage_block_optical must be true or false, got "maybe"'
    )
    # -e usb_storage_allow_model_wide=false is the string "false": coerced as argument specs do,
    # never read as a truthy string (a model-wide entry stays refused).
    wide = {
        "id": "46f4:0001",
        "label": "PC-USB-0009",
        "owner": "x",
        "issued_on": "2026-01-01",
        "expires_on": "2027-01-01",
    }
    with pytest.raises(AnsibleFilterError, match="serial"):
        usb_register_validate([wide], "2026-11-28", "false", switches={"usb_storage_block_optical": "yes"})
    ok = usb_register_validate([A], "2026-11-28", mode="prohibit", switches={"usb_storage_block_optical": False})
    assert [e["label"] for e in ok["active"]] == ["PC-USB-0001"]


@pytest.mark.control("6-17.device_register")
def test_replace_in_one_step_and_revoke():
    b = {"id": "46f4:0001", "serial": "AGENCY0002", "label": "PC-USB-0002", "owner": None}
    new = usb_register_update([A], "replace", device=b, serial="AGENCY0001", today="2026-11-28")
    assert [(e["serial"], e["state"]) for e in new] == [("AGENCY0001", "revoked"), ("AGENCY0002", "active")]
    assert new[0]["revoked_on"] == "2026-11-28" and new[0]["replaced_by"] == "PC-USB-0002"
    assert new[1]["owner"] == "tanaka" and new[1]["issued_on"] == "2026-11-28"
    gone = usb_register_update(new, "revoke", serial="AGENCY0002", today="2026-11-28")
    assert all(e["state"] == "revoked" for e in gone)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"action": "enrol", "device": {"id": "46f4:0001", "serial": "Z"}}, "label is missing"),
        ({"action": "enrol", "device": {"id": "46f4:01", "serial": "Z", "label": "x"}}, "id '46f4:01'"),
        ({"action": "enrol", "device": {"id": "46f4:0001", "serial": "AGENCY0001", "label": "x"}}, "already in"),
        ({"action": "revoke", "serial": "NOPE"}, "no active register entry has serial 'NOPE'"),
        ({"action": "replace", "serial": None, "device": {}}, "usb_old_serial"),
        ({"action": "delete"}, "usb_action 'delete'"),
    ],
)
@pytest.mark.control("6-17.device_register")
def test_update_refuses_bad_input(kwargs, needle):
    with pytest.raises(AnsibleFilterError) as exc:
        usb_register_update([A], today="2026-11-28", **kwargs)
    assert needle in str(exc.value)


@pytest.mark.control("6-17.device_register")
def test_pick_device():
    assert usb_pick_device([KBD, STICK], register=[A]) == {
        "id": "46f4:0001",
        "serial": "AGENCY0002",
        "hash": "h=",
        "kind": "storage",
    }
    # The registered stick A is not picked; two unregistered sticks are ambiguous.
    with pytest.raises(AnsibleFilterError, match="found 2"):
        usb_pick_device([STICK, dict(STICK, serial="B3")], register=[A])
    assert usb_pick_device([STICK, dict(STICK, serial="B3")], serial="B3")["serial"] == "B3"
    with pytest.raises(AnsibleFilterError, match="found 0"):
        usb_pick_device([KBD], register=[])


@pytest.mark.parametrize(
    ("settings", "needle"),
    [
        ({"RuleFolder": "/etc"}, "RuleFolder '/etc' must be a path inside /etc/usbguard/"),
        ({"RuleFolder": "/etc/usbguard"}, "RuleFolder '/etc/usbguard' must be a path inside /etc/usbguard/"),
        ({"RuleFolder": "/etc/usbguard/../"}, "must be a path inside /etc/usbguard/"),
        ({"RuleFolder": "rules.d"}, "must be a path inside /etc/usbguard/"),
        ({"RuleFile": "/etc/shadow"}, "RuleFile '/etc/shadow' must be a path inside"),
        ({"ImplicitPolicyTarget": "allow"}, "ImplicitPolicyTarget=allow defeats clause 6-17"),
        ({"PresentDevicePolicy": "keep"}, "PresentDevicePolicy=keep defeats clause 6-17"),
        ({"IPCAllowedGroups": "root\nwheel"}, "IPCAllowedGroups"),
    ],
)
@pytest.mark.control("6-17.usbguard_daemon_config")
def test_daemon_settings_are_validated_on_the_controller(settings, needle):
    with pytest.raises(AnsibleFilterError) as err:
        usb_register_validate([A], "2026-11-28", daemon_settings=settings)
    assert "usb_storage_daemon_settings" in str(err.value) and needle in str(err.value)


@pytest.mark.control("6-17.usbguard_daemon_config")
def test_daemon_settings_inside_the_usbguard_directory_pass():
    out = usb_register_validate([A], "2026-11-28", daemon_settings={"RuleFolder": "/etc/usbguard/rules.d/"})
    assert [e["label"] for e in out["active"]] == [A["label"]]
