"""Register validation for clause 6-17 (usb_register.validate_register and the lifecycle)."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb_register import (
    RegisterError,
    enrol,
    replace,
    revoke,
    validate_register,
)

TODAY = datetime.date(2026, 11, 28)


def entry(**kw):
    base = {"id": "46f4:0001", "serial": "AGENCY0001", "label": "PC-USB-0001", "issued_on": "2026-04-01"}
    base.update(kw)
    return base


def test_active_inactive_split_and_normalisation():
    res = validate_register(
        [
            entry(id="46F4:0001", issued_on=datetime.date(2026, 4, 1), expires_on="2026-11-28"),
            entry(serial="B", label="L2", state="revoked"),
            entry(serial="C", label="L3", expires_on="2026-11-27"),
        ],
        TODAY,
    )
    assert [e["label"] for e in res.active] == ["PC-USB-0001"]
    assert res.active[0]["id"] == "46f4:0001"  # lower-cased, as usbguard prints it
    assert res.active[0]["expires_on"] == datetime.date(2026, 11, 28)  # expiring today is still valid
    assert [(e["label"], e["reason"]) for e in res.inactive] == [("L2", "revoked"), ("L3", "expired")]
    assert res.warnings == []


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        (entry(id="46f4:001"), "id '46f4:001'"),
        (entry(id="zzzz:0001"), "id 'zzzz:0001'"),
        (entry(expires_on="2026-03-31"), "expires_on 2026-03-31 is before issued_on 2026-04-01"),
        (entry(state="lost"), "state 'lost'"),
        (entry(issued_on="01/04/2026"), "issued_on '01/04/2026' is not a date"),
        (entry(hash="short"), "hash 'short'"),
        (entry(expire_on="2027-01-01"), "unknown key(s) 'expire_on'"),
        (entry(kind="floppy"), "kind 'floppy'"),
        (entry(groups="office"), "groups 'office'"),
        (entry(label=""), "label is missing"),
        (entry(serial=" X "), "serial ' X '"),
    ],
)
def test_bad_entries_are_refused_naming_entry_and_value(bad, needle):
    with pytest.raises(RegisterError) as exc:
        validate_register([entry(serial="OK", label="OK"), bad], TODAY)
    msg = str(exc.value)
    assert msg.startswith("usb_storage_devices[1]")
    assert needle in msg


def test_duplicate_serial_refused_in_any_state():
    with pytest.raises(
        RegisterError, match=r"usb_storage_devices\[1\].*already registered as usb_storage_devices\[0\]"
    ):
        validate_register([entry(state="revoked"), entry(label="other")], TODAY)


def test_duplicate_label_refused():
    with pytest.raises(RegisterError, match="label 'PC-USB-0001' is already used"):
        validate_register([entry(), entry(serial="X2")], TODAY)


def test_missing_serial_refused_unless_model_wide_opt_in():
    e = entry()
    del e["serial"]
    with pytest.raises(RegisterError, match=r"usb_storage_devices\[0\] \(label 'PC-USB-0001'\): serial is missing"):
        validate_register([e], TODAY)
    res = validate_register([e], TODAY, allow_model_wide=True)
    assert len(res.active) == 1
    assert "model-wide" in res.warnings[0]


def test_hash_alone_identifies_a_device():
    e = entry(hash="A" * 43 + "=")
    del e["serial"]
    res = validate_register([e], TODAY)
    assert res.active[0]["hash"] == "A" * 43 + "="
    assert res.warnings == []


def test_not_a_list():
    with pytest.raises(RegisterError, match="must be a list"):
        validate_register({"id": "x"}, TODAY)


def test_enrol_replace_revoke_lifecycle():
    reg = enrol([], entry(owner="tanaka", groups=["office"]), TODAY)
    reg = replace(reg, "AGENCY0001", {"id": "46f4:0001", "serial": "AGENCY0002", "label": "PC-USB-0002"}, TODAY)
    res = validate_register(reg, TODAY)
    assert [(e["serial"], e["owner"], e["groups"]) for e in res.active] == [("AGENCY0002", "tanaka", ["office"])]
    assert res.active[0]["replaces"] == "PC-USB-0001"
    old = res.inactive[0]
    assert (old["serial"], old["reason"], old["replaced_by"], old["revoked_reason"]) == (
        "AGENCY0001",
        "revoked",
        "PC-USB-0002",
        "replaced",
    )
    reg = revoke(reg, "AGENCY0002", TODAY)
    res = validate_register(reg, TODAY)
    assert res.active == []
    assert {e["serial"] for e in res.inactive} == {"AGENCY0001", "AGENCY0002"}
    with pytest.raises(RegisterError, match="no active register entry has serial 'AGENCY0002'"):
        revoke(reg, "AGENCY0002", TODAY)
    with pytest.raises(RegisterError, match="already in the register"):
        enrol(reg, entry(label="again"), TODAY)
