"""Clause 6-17 on Windows: the registry plan per mode, the diff against reads, findings."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.pii_guard.safeguards.plugins.module_utils import findings as findings_mod
from ansible_collections.pii_guard.safeguards.plugins.module_utils import windows_usb as wu
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb_register import RegisterError

TODAY = datetime.date(2026, 11, 28)
A = {"id": "0781:5581", "serial": "AGENCY0001", "label": "PC-USB-0001", "issued_on": "2026-04-01"}
B = {"id": "0781:5581", "serial": "AGENCY0002", "label": "PC-USB-0002", "issued_on": "2026-04-01"}
REVOKED = dict(B, serial="LOST0003", label="PC-USB-0003", state="revoked")
EXPIRED = dict(B, serial="OLD0004", label="PC-USB-0004", issued_on="2024-04-01", expires_on="2025-03-31")
AUDIT_OK = dict((s["guid"], {"name": s["name_en"], "success": True, "failure": True}) for s in wu.AUDIT_SUBCATEGORIES)


# ----------------------------------------------------------------------------- helpers
def empty_reads(planned):
    return [{"item": k, "exists": False} for k in planned["read_keys"]]


def apply(reads, changes):
    """Apply win_regedit calls to a win_reg_stat-shaped registry (what the host would then read)."""
    keys = dict((r["item"].lower(), r) for r in reads)
    for c in changes:
        k = keys.setdefault(c["path"].lower(), {"item": c["path"], "exists": False})
        if c["state"] == "absent" and c.get("name") is None:
            k.update(exists=False, properties={})
            continue
        props = k.setdefault("properties", {})
        if c["state"] == "absent":
            for n in [n for n in props if n.lower() == c["name"].lower()]:
                del props[n]
            continue
        k["exists"] = True
        props[c["name"]] = {"type": wu.REG_TYPES[c["type"]], "value": c["data"]}
    return list(keys.values())


def values_of(reads, path):
    for r in reads:
        if r["item"].lower() == path.lower() and r.get("exists"):
            return dict((n, p["value"]) for n, p in r.get("properties", {}).items())
    return None


def converge(mode, devices, reads=None, **kw):
    planned = wu.plan(mode, devices, TODAY, **kw)
    reads = reads if reads is not None else empty_reads(planned)
    d = wu.diff(planned, reads)
    return planned, apply(reads, d["changes"]), d


# ----------------------------------------------------------------------------- per mode
def test_prohibit_denies_all_disables_usbstor_and_keeps_input_devices() -> None:
    planned, reads, _d = converge("prohibit", [A])
    assert values_of(reads, wu.RSD) == {"Deny_All": 1}
    for cls in (wu.CLASS_REMOVABLE_DISK, wu.CLASS_CD_DVD, *wu.CLASS_WPD):
        assert values_of(reads, wu.RSD + "\\" + cls) == {"Deny_Read": 1, "Deny_Write": 1}
    assert values_of(reads, wu.SERVICES + "\\USBSTOR") == {"Start": 4}
    assert values_of(reads, wu.SERVICES + "\\UASPStor") == {"Start": 4}
    assert values_of(reads, wu.DIR) == {
        "DenyRemovableDevices": 1,
        "AllowDenyLayered": 1,
        "AllowDeviceClasses": 1,
        "AllowAdminInstall": 0,
    }
    # Keyboards, mice and hubs stay installable; no agency stick is allowed in prohibit.
    assert list(values_of(reads, wu.DIR + "\\AllowDeviceClasses").values()) == list(wu.INPUT_AND_HUB_CLASSES)
    assert values_of(reads, wu.DIR + "\\AllowInstanceIDs") is None
    assert planned["instance_ids"] == ["USB\\VID_0781&PID_5581\\AGENCY0001"]  # planned, not rendered
    assert wu.diff(planned, reads)["changes"] == []


def test_agency_issued_only_allows_exactly_the_active_register() -> None:
    devices = [A, REVOKED, EXPIRED, dict(B, id="8564:1000")]
    planned, reads, _ = converge("agency_issued_only", devices)
    assert values_of(reads, wu.DIR + "\\AllowInstanceIDs") == {
        "1": "USB\\VID_0781&PID_5581\\AGENCY0001",
        "2": "USB\\VID_8564&PID_1000\\AGENCY0002",
    }
    r = values_of(reads, wu.DIR)
    assert r["DenyUnspecified"] == 1 and r["AllowDenyLayered"] == 1 and r["AllowInstanceIDs"] == 1
    assert r["DenyRemovableDevices"] == 1 and r["AllowAdminInstall"] == 0
    assert values_of(reads, wu.RSD) is None  # no Deny_All: agency sticks must work
    assert values_of(reads, wu.RSD + "\\" + wu.CLASS_REMOVABLE_DISK) is None
    for cls in wu.CLASS_WPD:
        assert values_of(reads, wu.RSD + "\\" + cls) == {"Deny_Read": 1, "Deny_Write": 1}
    assert values_of(reads, wu.SERVICES + "\\USBSTOR") == {"Start": 3}
    inactive = dict((e["label"], e["reason"]) for e in planned["register"]["inactive"])
    assert inactive == {"PC-USB-0003": "revoked", "PC-USB-0004": "expired"}


def test_switching_modes_cleans_up_and_audit_only_blocks_nothing() -> None:
    _, reads, _ = converge("prohibit", [A])
    planned, reads, d = converge("agency_issued_only", [A], reads)
    assert {"path": wu.RSD, "name": "Deny_All", "state": "absent"} in d["changes"]
    assert values_of(reads, wu.SERVICES + "\\USBSTOR") == {"Start": 3}
    planned, reads, d = converge("audit_only", [A], reads)
    for key in (wu.DIR + "\\AllowInstanceIDs", wu.DIR + "\\AllowDeviceClasses"):
        assert {"path": key, "state": "absent", "delete_key": True} in d["changes"]
    for r in reads:
        if r["item"].startswith(wu.SERVICES):
            assert values_of(reads, r["item"]) == {"Start": 3}
        else:
            assert not values_of(reads, r["item"]), r
    assert wu.diff(planned, reads)["changes"] == []


def test_replacing_a_by_b_moves_the_allow_entry_and_drops_stale_list_values() -> None:
    _, reads, _ = converge("agency_issued_only", [A, dict(B, serial="SPARE9", label="PC-USB-0009")])
    assert len(values_of(reads, wu.DIR + "\\AllowInstanceIDs")) == 2
    replaced = [dict(A, state="revoked"), B]
    _, reads, d = converge("agency_issued_only", replaced, reads)
    assert values_of(reads, wu.DIR + "\\AllowInstanceIDs") == {"1": "USB\\VID_0781&PID_5581\\AGENCY0002"}
    assert {"path": wu.DIR + "\\AllowInstanceIDs", "name": "2", "state": "absent"} in d["changes"]


def test_registered_smartphone_lifts_the_class_wide_wpd_deny_only_in_agency_mode() -> None:
    phone = {
        "id": "04e8:6860",
        "serial": "R58M123",
        "label": "PHONE-1",
        "issued_on": "2026-01-05",
        "kind": "smartphone",
    }
    _, reads, _ = converge("agency_issued_only", [A, phone])
    for cls in wu.CLASS_WPD:
        assert values_of(reads, wu.RSD + "\\" + cls) is None
    assert "USB\\VID_04E8&PID_6860\\R58M123" in values_of(reads, wu.DIR + "\\AllowInstanceIDs").values()
    _, reads, _ = converge("prohibit", [A, phone])
    for cls in wu.CLASS_WPD:
        assert values_of(reads, wu.RSD + "\\" + cls) == {"Deny_Read": 1, "Deny_Write": 1}


def test_switches_optical_and_smartphones() -> None:
    _, reads, _ = converge("agency_issued_only", [A], block_optical=False, block_smartphones=False)
    assert values_of(reads, wu.RSD + "\\" + wu.CLASS_CD_DVD) is None
    assert all(values_of(reads, wu.RSD + "\\" + c) is None for c in wu.CLASS_WPD)
    with pytest.raises(wu.PlanError, match="usb_storage_block_optical must be true or false, got 'yes'"):
        wu.plan("agency_issued_only", [A], TODAY, block_optical="yes")


def test_extra_instance_ids_groups_and_model_wide() -> None:
    disk = "USBSTOR\\DISK&VEN_SANDISK&PROD_ULTRA&REV_1.00\\AGENCY0001&0"
    model = {"id": "0951:1666", "label": "KINGSTON-POOL", "issued_on": "2026-01-01"}
    elsewhere = dict(B, groups=["system_room"])
    planned = wu.plan(
        "agency_issued_only",
        [A, model, elsewhere],
        TODAY,
        host_groups=["windows"],
        allow_model_wide=True,
        extra_instance_ids={"PC-USB-0001": [disk]},
    )
    assert planned["instance_ids"] == ["USB\\VID_0781&PID_5581\\AGENCY0001", disk]
    assert planned["device_ids"] == ["USB\\VID_0951&PID_1666"]
    assert planned["register"]["not_for_this_host"] == ["PC-USB-0002"]
    assert any("model-wide" in w for w in planned["register"]["warnings"])
    # The extra IDs of a revoked device disappear with it.
    planned = wu.plan(
        "agency_issued_only", [dict(A, state="revoked")], TODAY, extra_instance_ids={"PC-USB-0001": [disk]}
    )
    assert planned["instance_ids"] == []
    assert [li["items"] for li in planned["lists"] if li["path"].endswith("AllowInstanceIDs")] == [None]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "block_everything"}, "usb_storage_mode 'block_everything' is not one of"),
        (
            {"devices": [dict(A, id="0781-5581")]},
            "usb_storage_devices[0] (label 'PC-USB-0001', serial 'AGENCY0001'): id",
        ),
        ({"devices": [A, dict(A, label="X")]}, "already registered"),
        ({"extra_instance_ids": {"NOPE": ["USB\\X"]}}, "usb_storage_windows_instance_ids: label 'NOPE' is not in"),
        ({"extra_instance_ids": {"PC-USB-0001": ["no-backslash"]}}, "is not a device instance ID"),
    ],
)
def test_bad_input_is_refused_naming_variable_and_value(kwargs, message) -> None:
    args = {"mode": "agency_issued_only", "devices": [A]}
    args.update(kwargs)
    with pytest.raises((wu.PlanError, RegisterError)) as e:
        wu.plan(args["mode"], args["devices"], TODAY, extra_instance_ids=args.get("extra_instance_ids"))
    assert message in str(e.value)


def test_reads_are_compared_case_insensitively_and_by_type() -> None:
    planned = wu.plan("prohibit", [], TODAY)
    _, reads, _ = converge("prohibit", [])
    for r in reads:  # Windows may report other casing of value names
        r["properties"] = dict((n.upper(), p) for n, p in r.get("properties", {}).items())
    assert wu.diff(planned, reads)["changes"] == []
    for r in reads:
        if r["item"] == wu.RSD:
            r["properties"]["DENY_ALL"] = {"type": "REG_SZ", "value": "1"}  # wrong type
    assert wu.diff(planned, reads)["changes"] == [
        {"path": wu.RSD, "name": "Deny_All", "data": 1, "type": "dword", "state": "present"}
    ]


def test_a_missing_read_is_an_error_not_a_silent_pass() -> None:
    planned = wu.plan("prohibit", [], TODAY)
    with pytest.raises(wu.PlanError, match="no registry read for"):
        wu.diff(planned, empty_reads(planned)[1:])


def test_audit_uses_the_localised_name_read_by_guid() -> None:
    planned = wu.plan("audit_only", [], TODAY)
    current = dict(AUDIT_OK)
    current["{0CCE9245-69AE-11D9-BED3-505054503030}"] = {
        "name": "リムーバブル記憶域",
        "success": True,
        "failure": False,
    }
    calls, bad = wu.audit_drift(planned, current)
    assert calls == [{"subcategory": "リムーバブル記憶域", "audit_type": ["success", "failure"]}]
    assert bad[0]["observed"] == ["success"]
    assert wu.audit_drift(planned, AUDIT_OK) == ([], [])


def test_findings_shape_and_status_in_check_apply_and_audit_only() -> None:
    planned = wu.plan("agency_issued_only", [A, REVOKED], TODAY)
    d = wu.diff(planned, empty_reads(planned))
    check = wu.findings(planned, d, [], True, True, "agency_issued_only")
    fixed = wu.findings(planned, d, [], True, False, "agency_issued_only")
    for f in check + fixed:
        findings_mod.validate(f)
    assert {f["id"]: f["status"] for f in check}[wu.C_INSTALL] == "fail"
    assert {f["id"]: f["status"] for f in fixed}[wu.C_INSTALL] == "fixed"
    assert {f["id"]: f["status"] for f in check}[wu.C_AUDIT] == "pass"
    reg = next(f for f in check if f["id"] == wu.C_REGISTER)
    assert reg["evidence"]["inactive"] == [{"label": "PC-USB-0003", "reason": "revoked"}]
    planned = wu.plan("audit_only", [A], TODAY)
    _, reads, _ = converge("audit_only", [A])
    quiet = wu.findings(planned, wu.diff(planned, reads), [], False, False, "audit_only")
    assert {f["id"]: f["status"] for f in quiet}[wu.C_STORAGE] == "not_applicable"


# ----------------------------------------------------------------------------- property
hexid = st.text("0123456789abcdef", min_size=4, max_size=4)
serial = st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=4, max_size=12)
entry = st.fixed_dictionaries(
    {
        "id": st.builds(lambda a, b: a + ":" + b, hexid, hexid),
        "serial": serial,
        "state": st.sampled_from(["active", "revoked"]),
    }
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(entry, max_size=6, unique_by=lambda e: e["serial"]),
    st.lists(st.sampled_from(wu.MODES), min_size=1, max_size=4),
)
def test_any_sequence_of_modes_converges_and_is_idempotent(entries, modes) -> None:
    """Whatever was applied before, one run reaches the plan and a second run changes nothing."""
    devices = [dict(e, label="L%d" % i, issued_on="2026-01-01") for i, e in enumerate(entries)]
    reads = None
    for mode in modes:
        planned, reads, _ = converge(mode, devices, reads)
        assert wu.diff(planned, reads)["changes"] == []
    allowed = set((values_of(reads, wu.DIR + "\\AllowInstanceIDs") or {}).values())
    expected = {
        "USB\\VID_%s&PID_%s\\%s" % (e["id"][:4].upper(), e["id"][5:].upper(), e["serial"])
        for e in devices
        if e["state"] == "active"
    }
    assert allowed == (expected if modes[-1] == "agency_issued_only" else set())
    assert (values_of(reads, wu.RSD) or {}).get("Deny_All") == (1 if modes[-1] == "prohibit" else None)
