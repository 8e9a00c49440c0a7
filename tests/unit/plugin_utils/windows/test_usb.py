"""Clause 6-17 on Windows: the registry plan per mode, the diff against reads, findings."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common import findings as findings_mod
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb.register import RegisterError
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.windows import usb as wu

TODAY = datetime.date(2026, 11, 28)
A = {"id": "0781:5581", "serial": "AGENCY0001", "label": "PC-USB-0001", "issued_on": "2026-04-01"}
B = {"id": "0781:5581", "serial": "AGENCY0002", "label": "PC-USB-0002", "issued_on": "2026-04-01"}
REVOKED = dict(B, serial="LOST0003", label="PC-USB-0003", state="revoked")
EXPIRED = dict(B, serial="OLD0004", label="PC-USB-0004", issued_on="2024-04-01", expires_on="2025-03-31")
AUDIT_OK = dict((s["guid"], {"name": s["name_en"], "success": True, "failure": True}) for s in wu.AUDIT_SUBCATEGORIES)


# ----------------------------------------------------------------------------- helpers
BOOT = "2026-11-28T05:00:00Z"
INQ = {"vendor": "SanDisk", "product": "Ultra Fit", "revision": "1.00"}
A_DISK = "USBSTOR\\DISK&VEN_SANDISK&PROD_ULTRA_FIT&REV_1.00\\AGENCY0001&0"
B_DISK = "USBSTOR\\DISK&VEN_SANDISK&PROD_ULTRA_FIT&REV_1.00\\AGENCY0002&0"
IDS = {"PC-USB-0001": [INQ]}
IDS_AB = {"PC-USB-0001": [INQ], "PC-USB-0002": [INQ]}


def empty_reads(planned):
    """A delivered Windows host: no policy, USBSTOR/UASPStor on demand (Start=3)."""
    out = []
    for k in planned["read_keys"]:
        if k.startswith(wu.SERVICES):
            out.append({"item": k, "exists": True, "properties": {"Start": {"type": "REG_DWORD", "value": 3}}})
        else:
            out.append({"item": k, "exists": False})
    return out


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
            return dict((n, p["value"]) for n, p in r.get("properties", {}).items()) or None
    return None


def converge(mode, devices, reads=None, boot=BOOT, **kw):
    planned = wu.plan(mode, devices, TODAY, **kw)
    if reads is None:
        reads = empty_reads(planned)
    else:  # keys a new plan reads that the old one did not: as the host has them
        known = set(r["item"].lower() for r in reads)
        reads = reads + [r for r in empty_reads(planned) if r["item"].lower() not in known]
    d = wu.diff(planned, reads, boot)
    return planned, apply(reads, d["changes"]), d


def list_of(reads, name):
    return list((values_of(reads, wu.DIR + "\\" + name) or {}).values())


SC = [wu.SETUP["SmartCardReader"], wu.SETUP["SmartCard"]]


# ----------------------------------------------------------------------------- per mode
@pytest.mark.control("6-17.win_device_classes")
def test_prohibit_denies_every_recording_class_and_keeps_input_hubs_and_smartcards() -> None:
    planned, reads, _d = converge("prohibit", [A])
    assert values_of(reads, wu.RSD) == {"Deny_All": 1}
    for cls in (wu.CLASS_REMOVABLE_DISK, wu.CLASS_CD_DVD, *wu.CLASS_WPD):
        assert values_of(reads, wu.RSD + "\\" + cls) == {"Deny_Read": 1, "Deny_Write": 1}
    assert values_of(reads, wu.SERVICES + "\\USBSTOR") == {"Start": 4}
    assert values_of(reads, wu.SERVICES + "\\UASPStor") == {"Start": 4}
    assert values_of(reads, wu.SERVICE_RECORD) == {"USBSTOR": 3, "UASPStor": 3}
    assert values_of(reads, wu.DIR) == {
        "DenyRemovableDevices": 1,
        "AllowDenyLayered": 1,
        "AllowDeviceClasses": 1,
        "DenyDeviceClasses": 1,
        "DenyDeviceClassesRetroactive": 1,
        "DenyDeviceIDs": 1,
        "DenyDeviceIDsRetroactive": 1,
        "AllowAdminInstall": 0,
    }
    assert list_of(reads, "AllowDeviceClasses") == [
        *wu.INPUT_AND_HUB_CLASSES,
        *SC,
        wu.SETUP["MEDIA"],
        wu.SETUP["Ports"],
    ]
    assert list_of(reads, "DenyDeviceClasses") == [wu.SETUP[c] for c in ("CDROM", "WPD", "SDHost", "1394")]
    assert list_of(reads, "DenyDeviceIDs") == ["USBSTOR\\Disk", *wu.PHONE_NETWORK_IDS, *wu.ADB_IDS]
    assert values_of(reads, wu.DIR + "\\AllowInstanceIDs") is None  # no agency stick in prohibit
    assert wu.diff(planned, reads, BOOT)["changes"] == []


@pytest.mark.control("6-17.win_device_install_restrictions", "6-17.device_register")
def test_agency_issued_only_follows_scenario_5_usbstor_instance_id_of_the_registered_stick() -> None:
    devices = [A, REVOKED, EXPIRED, dict(B, id="8564:1000")]
    planned, reads, _ = converge("agency_issued_only", devices, extra_instance_ids=IDS_AB)
    # Only the disk nodes gate: the USB nodes install anyway (class USB is allowed for hubs).
    assert list_of(reads, "AllowInstanceIDs") == [A_DISK, B_DISK]
    assert "USBSTOR\\Disk" in list_of(reads, "DenyDeviceIDs")  # every other stick, retroactively
    r = values_of(reads, wu.DIR)
    assert r["DenyDeviceIDsRetroactive"] == 1 and r["AllowDenyLayered"] == 1 and r["DenyUnspecified"] == 1
    assert r["DenyRemovableDevices"] == 1 and r["AllowAdminInstall"] == 0
    assert values_of(reads, wu.RSD) is None  # no Deny_All: agency sticks must work
    assert values_of(reads, wu.RSD + "\\" + wu.CLASS_REMOVABLE_DISK) is None
    for cls in wu.CLASS_WPD:
        assert values_of(reads, wu.RSD + "\\" + cls) == {"Deny_Read": 1, "Deny_Write": 1}
    assert values_of(reads, wu.SERVICES + "\\USBSTOR") == {"Start": 3}  # untouched
    inactive = dict((e["label"], e["reason"]) for e in planned["register"]["inactive"])
    assert inactive == {"PC-USB-0003": "revoked", "PC-USB-0004": "expired"}
    f = {
        x["id"]: x for x in wu.findings(planned, wu.diff(planned, reads, BOOT), [], False, False, "agency_issued_only")
    }
    assert "USBSTOR disk node is refused" in f[wu.C_INSTALL]["evidence"]["unregistered_stick"]


@pytest.mark.control("6-17.win_device_install_restrictions")
def test_registered_stick_without_usbstor_id_is_refused_and_said_so() -> None:
    planned = wu.plan("agency_issued_only", [A], TODAY)
    assert planned["instance_ids"] == []
    assert any("PC-USB-0001" in w and "refuses its disk node" in w for w in planned["register"]["warnings"])
    given = wu.plan("agency_issued_only", [A], TODAY, extra_instance_ids={"PC-USB-0001": [A_DISK]})
    assert given["instance_ids"] == [A_DISK] and given["register"]["warnings"] == []


@pytest.mark.parametrize(
    ("inquiry", "serial", "expected"),
    [
        (INQ, "AGENCY0001", A_DISK),
        ({"vendor": "Kingston", "product": "DataTraveler 3.0", "revision": "PMAP"}, "e0d55ea5", None),
        ({"vendor": " JetFlash", "product": "Transcend 16GB  ", "revision": "1100"}, "X1", None),
    ],
)
@pytest.mark.control("6-17.win_device_install_restrictions")
def test_usbstor_instance_id_derivation(inquiry, serial, expected) -> None:
    got = wu.usbstor_instance_id(inquiry, serial)
    assert wu.INSTANCE_ID_RE.fullmatch(got)
    if expected:
        assert got == expected
    assert got.startswith("USBSTOR\\DISK&VEN_") and got.endswith("\\%s&0" % serial.upper())
    assert " " not in got


@pytest.mark.control("6-17.win_removable_storage_policy", "6-17.win_device_install_restrictions")
def test_switching_modes_cleans_up_and_audit_only_blocks_nothing() -> None:
    _, reads, _ = converge("prohibit", [A])
    planned, reads, d = converge("agency_issued_only", [A], reads, extra_instance_ids=IDS)
    assert {"path": wu.RSD, "name": "Deny_All", "state": "absent"} in d["changes"]
    assert values_of(reads, wu.SERVICES + "\\USBSTOR") == {"Start": 3}  # restored: this role set 4
    assert values_of(reads, wu.SERVICE_RECORD) is None
    planned, reads, d = converge("audit_only", [A], reads, boot="later")
    for key in ("AllowInstanceIDs", "AllowDeviceClasses", "DenyDeviceClasses", "DenyDeviceIDs"):
        assert {"path": wu.DIR + "\\" + key, "state": "absent", "delete_key": True} in d["changes"]
    for r in reads:
        if r["item"].startswith(wu.SERVICES):
            assert values_of(reads, r["item"]) == {"Start": 3}
        elif r["item"] == wu.PENDING_KEY:  # lifting a policy also takes effect after a restart
            assert set(values_of(reads, r["item"]).values()) == {"later"}
        else:
            assert not values_of(reads, r["item"]), r
    assert wu.diff(planned, reads, "later")["changes"] == []


@pytest.mark.control("6-17.win_usbstor_disabled")
def test_usbstor_start_set_by_other_hardening_is_left_alone() -> None:
    planned = wu.plan("agency_issued_only", [A], TODAY)
    reads = empty_reads(planned)
    for r in reads:
        if r["item"].startswith(wu.SERVICES):
            r["properties"]["Start"]["value"] = 4
    d = wu.diff(planned, reads, BOOT)
    assert not [c for c in d["changes"] if c["path"].startswith(wu.SERVICES)]
    assert [s["set_by_this_role"] for s in d["services"]] == [False, False]
    # prohibit on such a host: already 4, nothing recorded, so leaving prohibit keeps 4.
    _, after, d = converge("prohibit", [A], reads)
    assert values_of(after, wu.SERVICE_RECORD) is None
    _, back, _ = converge("agency_issued_only", [A], after)
    assert values_of(back, wu.SERVICES + "\\USBSTOR") == {"Start": 4}


@pytest.mark.control("6-17.win_usbstor_disabled")
def test_prohibit_records_and_restores_exactly_the_start_it_found() -> None:
    planned = wu.plan("prohibit", [], TODAY)
    reads = empty_reads(planned)
    for r in reads:
        if r["item"].endswith("UASPStor"):
            r["properties"]["Start"]["value"] = 2
    _, reads, _ = converge("prohibit", [], reads)
    assert values_of(reads, wu.SERVICE_RECORD) == {"USBSTOR": 3, "UASPStor": 2}
    _, again, d = converge("prohibit", [], reads)  # a second prohibit run keeps the first record
    assert d["changes"] == [] and values_of(again, wu.SERVICE_RECORD) == {"USBSTOR": 3, "UASPStor": 2}
    _, back, _ = converge("audit_only", [], again, boot="later")
    assert values_of(back, wu.SERVICES + "\\UASPStor") == {"Start": 2}
    assert values_of(back, wu.SERVICES + "\\USBSTOR") == {"Start": 3}


@pytest.mark.control("6-17.win_device_install_restrictions", "6-17.device_register")
def test_replacing_a_by_b_moves_the_allow_entry_and_drops_stale_list_values() -> None:
    ids = {"PC-USB-0001": [INQ], "PC-USB-0009": [INQ]}
    _, reads, _ = converge(
        "agency_issued_only", [A, dict(B, serial="SPARE9", label="PC-USB-0009")], extra_instance_ids=ids
    )
    assert len(list_of(reads, "AllowInstanceIDs")) == 2
    replaced = [dict(A, state="revoked"), B]
    _, reads, d = converge("agency_issued_only", replaced, reads, extra_instance_ids=IDS_AB)
    assert values_of(reads, wu.DIR + "\\AllowInstanceIDs") == {"1": B_DISK}
    assert {"path": wu.DIR + "\\AllowInstanceIDs", "name": "2", "state": "absent"} in d["changes"]


PHONE = {"id": "04e8:6860", "serial": "R58M123", "label": "PHONE-1", "issued_on": "2026-01-05", "kind": "smartphone"}


@pytest.mark.control("6-17.smartphone_blocked")
def test_registering_one_phone_does_not_lift_the_wpd_deny_for_every_phone() -> None:
    _, reads, _ = converge("agency_issued_only", [A, PHONE], extra_instance_ids=IDS)
    # Removable Storage Access cannot exempt one phone: its class deny is lifted...
    for cls in wu.CLASS_WPD:
        assert values_of(reads, wu.RSD + "\\" + cls) is None
    # ...but the WPD setup class stays denied (retroactively) and only this phone's node outranks it.
    assert wu.SETUP["WPD"] in list_of(reads, "DenyDeviceClasses")
    assert values_of(reads, wu.DIR)["DenyDeviceClassesRetroactive"] == 1
    assert "USB\\VID_04E8&PID_6860\\R58M123" in list_of(reads, "AllowInstanceIDs")
    assert not [i for i in list_of(reads, "AllowInstanceIDs") if "04E8" in i and "R58M123" not in i]
    # Phone network functions stay denied for the registered phone as well.
    assert set(wu.PHONE_NETWORK_IDS) <= set(list_of(reads, "DenyDeviceIDs"))
    _, reads, _ = converge("prohibit", [A, PHONE])
    for cls in wu.CLASS_WPD:
        assert values_of(reads, wu.RSD + "\\" + cls) == {"Deny_Read": 1, "Deny_Write": 1}


@pytest.mark.control("6-17.win_device_classes", "6-17.smartphone_blocked")
def test_switches_optical_smartphones_audio_serial() -> None:
    _, reads, _ = converge(
        "agency_issued_only", [A], block_optical=False, block_smartphones=False, allow_audio=False, allow_serial=False
    )
    assert values_of(reads, wu.RSD + "\\" + wu.CLASS_CD_DVD) is None
    assert all(values_of(reads, wu.RSD + "\\" + c) is None for c in wu.CLASS_WPD)
    assert list_of(reads, "DenyDeviceClasses") == [wu.SETUP["SDHost"], wu.SETUP["1394"]]
    assert list_of(reads, "DenyDeviceIDs") == ["USBSTOR\\Disk"]
    allow = list_of(reads, "AllowDeviceClasses")
    assert wu.SETUP["MEDIA"] not in allow and wu.SETUP["Ports"] not in allow and set(SC) <= set(allow)
    # In prohibit the phone/optical switches do not lift anything.
    planned = wu.plan("prohibit", [], TODAY, block_optical=False, block_smartphones=False)
    assert wu.SETUP["CDROM"] in planned["deny_classes"] and wu.SETUP["WPD"] in planned["deny_classes"]
    for var in ("block_optical", "block_smartphones", "allow_audio", "allow_serial"):
        with pytest.raises(wu.PlanError, match="must be true or false, got 'yes'"):
            wu.plan("agency_issued_only", [A], TODAY, **{var: "yes"})


@pytest.mark.control("6-17.win_device_classes")
def test_smartcard_readers_and_approved_classes_stay_installable_in_every_enforcing_mode() -> None:
    scanner = "{6bdd1fc6-810f-11d0-bec7-08002be2092f}"  # Image (scanners)
    for mode in ("prohibit", "agency_issued_only"):
        planned = wu.plan(mode, [], TODAY, approved_classes=[scanner.upper()])
        assert set(SC) <= set(planned["allow_classes"]) and scanner in planned["allow_classes"]
        assert not set(planned["allow_classes"]) & set(planned["deny_classes"])
    assert wu.plan("audit_only", [], TODAY)["allow_classes"] == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "block_everything"}, "usb_storage_mode 'block_everything' is not one of"),
        (
            {"devices": [dict(A, id="0781-5581")]},
            "usb_storage_devices[0] (label 'PC-USB-0001', serial 'AGENCY0001'): id",
        ),
        ({"devices": [A, dict(A, label="X")]}, "already registered"),
        ({"extra_instance_ids": {"NOPE": ["USB\\X\\Y"]}}, "usb_storage_windows_instance_ids: label 'NOPE' is not in"),
        ({"extra_instance_ids": {"PC-USB-0001": ["no-backslash"]}}, "is not a device instance ID"),
        ({"extra_instance_ids": {"PC-USB-0001": ["USB\\VID_1&PID_2\\X\nY"]}}, "is not a device instance ID"),
        ({"extra_instance_ids": {"PC-USB-0001": ["USB\\{{ lookup('pipe','id') }}\\x"]}}, "is not a device instance ID"),
        ({"extra_instance_ids": {"PC-USB-0001": ['USB\\VID_1"\\x']}}, "is not a device instance ID"),
        ({"extra_instance_ids": {"PC-USB-0001": [dict(INQ, vendor="{{ x }}")]}}, "vendor '{{ x }}' is not a SCSI"),
        ({"extra_instance_ids": {"PC-USB-0001": [dict(INQ, product="a\nb")]}}, "product 'a\\nb' is not a SCSI"),
        ({"extra_instance_ids": {"PC-USB-0001": [dict(INQ, revision="12345")]}}, "revision '12345' is not a SCSI"),
        ({"extra_instance_ids": {"PC-USB-0001": [{"vendor": "x"}]}}, "must have exactly the keys vendor"),
        ({"approved_classes": ["{4D36E967-E325-11CE-BFC1-08002BE10318}"]}, "record or transfer files (DiskDrive)"),
        ({"approved_classes": ["{eec5ad98-8080-425f-922a-dabf3de3f69a}"]}, "(WPD); it cannot be approved"),
        ({"approved_classes": ["{6bdd1fc6-810f-11d0-bec7-08002be2092f}\n"]}, "approved_classes[0]"),
        ({"approved_classes": "{6bdd1fc6-810f-11d0-bec7-08002be2092f}"}, "must be a list of setup class GUIDs"),
    ],
)
def test_bad_input_is_refused_naming_variable_and_value(kwargs, message) -> None:
    args = {"mode": "agency_issued_only", "devices": [A]}
    args.update(kwargs)
    with pytest.raises((wu.PlanError, RegisterError)) as e:
        wu.plan(
            args["mode"],
            args["devices"],
            TODAY,
            extra_instance_ids=args.get("extra_instance_ids"),
            approved_classes=args.get("approved_classes"),
        )
    assert message in str(e.value)


@pytest.mark.control("6-17.win_device_install_restrictions", "6-17.device_register")
def test_a_register_serial_windows_cannot_keep_is_not_rendered_into_an_instance_id() -> None:
    # '*' is printable ASCII the register accepts, but no part of a Windows instance ID.
    odd = dict(A, serial="AB*X")
    planned = wu.plan("agency_issued_only", [dict(odd, kind="smartphone")], TODAY)
    assert planned["instance_ids"] == []
    assert any("characters Windows does not keep" in w for w in planned["register"]["warnings"])
    # A Jinja-looking serial never gets that far: the register itself refuses it.
    with pytest.raises(RegisterError, match=r"serial 'AB\{\{ x \}\}' is not accepted"):
        wu.plan("agency_issued_only", [dict(A, serial="AB{{ x }}", kind="smartphone")], TODAY)


def test_reads_are_compared_case_insensitively_and_by_type() -> None:
    planned, reads, _ = converge("prohibit", [])
    for r in reads:  # Windows may report other casing of value names
        r["properties"] = dict((n.upper(), p) for n, p in r.get("properties", {}).items())
    assert wu.diff(planned, reads, BOOT)["changes"] == []
    for r in reads:
        if r["item"] == wu.RSD:
            r["properties"]["DENY_ALL"] = {"type": "REG_SZ", "value": "1"}  # wrong type
    assert wu.diff(planned, reads, BOOT)["changes"] == [
        {"path": wu.RSD, "name": "Deny_All", "data": 1, "type": "dword", "state": "present"}
    ]


def test_a_missing_read_is_an_error_not_a_silent_pass() -> None:
    planned = wu.plan("prohibit", [], TODAY)
    with pytest.raises(wu.PlanError, match="no registry read for"):
        wu.diff(planned, empty_reads(planned)[1:], BOOT)


@pytest.mark.control("6-17.win_removable_audit")
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


# ----------------------------------------------------------------- restart and findings
def test_policies_written_now_are_pending_restart_not_fixed_until_the_host_restarted() -> None:
    planned = wu.plan("agency_issued_only", [A, REVOKED], TODAY, extra_instance_ids=IDS)
    d = wu.diff(planned, empty_reads(planned), BOOT)
    written = (wu.C_STORAGE, wu.C_PHONE, wu.C_INSTALL)  # CD/DVD and WPD denies, installation policy
    assert d["pending"] == list(written)
    markers = [c for c in d["changes"] if c["path"] == wu.PENDING_KEY]
    assert markers == [
        {"path": wu.PENDING_KEY, "name": c, "data": BOOT, "type": "string", "state": "present"} for c in written
    ]
    check = wu.findings(planned, d, [], True, True, "agency_issued_only")
    applied = wu.findings(planned, d, [], True, False, "agency_issued_only")
    for f in check + applied:
        findings_mod.validate(f)
    st = {f["id"]: f for f in applied}
    assert st[wu.C_INSTALL]["status"] == "fail" and st[wu.C_INSTALL]["observed"].startswith("pending_restart")
    assert st[wu.C_INSTALL]["evidence"]["pending_restart"] is True
    assert {f["id"]: f["status"] for f in check}[wu.C_INSTALL] == "fail"
    assert st[wu.C_AUDIT]["status"] == "pass"
    reads = apply(empty_reads(planned), d["changes"])
    same = wu.diff(planned, reads, BOOT)
    assert same["changes"] == [] and same["pending"] == list(written)
    later = wu.diff(planned, reads, "2026-11-29T05:00:00Z")
    assert later["pending"] == []
    assert later["changes"] == [{"path": wu.PENDING_KEY, "name": c, "state": "absent"} for c in written]
    done = apply(reads, later["changes"])
    final = {
        f["id"]: f["status"]
        for f in wu.findings(planned, wu.diff(planned, done, "x"), [], False, False, "agency_issued_only")
    }
    assert final[wu.C_INSTALL] == final[wu.C_PHONE] == final[wu.C_CLASSES] == "pass"


def test_a_change_without_the_boot_time_is_refused() -> None:
    planned = wu.plan("prohibit", [], TODAY)
    with pytest.raises(wu.PlanError, match="boot time was not read"):
        wu.diff(planned, empty_reads(planned), None)


def test_findings_shape_and_audit_only() -> None:
    planned = wu.plan("agency_issued_only", [A, REVOKED], TODAY)
    check = wu.findings(planned, wu.diff(planned, empty_reads(planned), BOOT), [], True, True, "agency_issued_only")
    reg = next(f for f in check if f["id"] == wu.C_REGISTER)
    assert reg["evidence"]["inactive"] == [{"label": "PC-USB-0003", "reason": "revoked"}]
    planned, reads, _ = converge("audit_only", [A])
    quiet = {
        f["id"]: f["status"]
        for f in wu.findings(planned, wu.diff(planned, reads, BOOT), [], False, False, "audit_only")
    }
    assert quiet[wu.C_STORAGE] == quiet[wu.C_CLASSES] == quiet[wu.C_PREINSTALLED] == "not_applicable"


@pytest.mark.control("6-17.win_device_classes")
def test_class_matrix_finding_has_one_row_per_class_with_mechanism() -> None:
    keys = [r["key"] for r in wu.CLASS_MATRIX]
    assert keys == [
        "usb_mass_storage",
        "uasp_disks",
        "optical",
        "mtp_ptp",
        "phone_network",
        "vendor_specific",
        "sd_mmc",
        "thunderbolt_pcie",
        "firewire",
        "bluetooth_obex",
        "smartcard_reader",
        "hid",
        "hubs",
        "audio",
        "serial",
    ]
    for r in wu.CLASS_MATRIX:
        for c in r["setup_classes"]:
            assert wu.GUID_RE.fullmatch(wu.SETUP[c])
    expected = {
        "prohibit": {k: "blocked" for k in keys[:10]} | {k: "allowed" for k in keys[10:]},
        "agency_issued_only": {k: "blocked" for k in keys[:10]} | {k: "allowed" for k in keys[10:]},
        "audit_only": {k: "allowed" for k in keys},
    }
    for mode, want in expected.items():
        planned, reads, _ = converge(mode, [A])
        f = wu.class_finding(planned, wu.diff(planned, reads, BOOT), mode, set())
        findings_mod.validate(f)
        assert f["expected"] == want
        assert [row["mechanism"] for row in f["evidence"]["classes"]] == [r["how"] for r in wu.CLASS_MATRIX]
    planned = wu.plan("agency_issued_only", [A], TODAY, block_optical=False, allow_audio=False)
    got = {r["key"]: r["blocked"] for r in planned["matrix"]}
    assert got["optical"] is False and got["audio"] is True and got["smartcard_reader"] is False


@pytest.mark.control("6-17.win_preinstalled_devices")
def test_devices_installed_before_the_policy_are_reported_where_windows_keeps_them() -> None:
    planned = wu.plan("agency_issued_only", [A], TODAY, extra_instance_ids=IDS)
    present = [
        {
            "instance_id": "SCSI\\DISK&VEN_SAMSUNG&PROD_PORTABLE_SSD\\7&1A&0&000000",
            "class_guid": wu.SETUP["DiskDrive"],
            "removable": True,
        },
        {
            "instance_id": "USBSTOR\\DISK&VEN_X&PROD_Y&REV_1\\Z&0",
            "class_guid": wu.SETUP["DiskDrive"],
            "removable": True,
        },
        {"instance_id": A_DISK, "class_guid": wu.SETUP["DiskDrive"], "removable": True},
        {"instance_id": "SCSI\\DISK&VEN_NVME\\4&0", "class_guid": wu.SETUP["DiskDrive"], "removable": False},
        {"instance_id": "USB\\VID_04E8&PID_6860\\OTHER", "class_guid": wu.SETUP["WPD"], "removable": True},
    ]
    late = wu.preinstalled(planned, present)
    assert [d["instance_id"] for d in late] == ["SCSI\\DISK&VEN_SAMSUNG&PROD_PORTABLE_SSD\\7&1A&0&000000"]
    d = wu.diff(planned, empty_reads(planned), BOOT)
    f = {x["id"]: x for x in wu.findings(planned, d, [], True, False, "agency_issued_only", present=present)}
    assert f[wu.C_PREINSTALLED]["status"] == "fail"
    assert f[wu.C_PREINSTALLED]["observed"] == ["SCSI\\DISK&VEN_SAMSUNG&PROD_PORTABLE_SSD\\7&1A&0&000000"]
    ok = {
        x["id"]: x["status"]
        for x in wu.findings(planned, d, [], True, False, "agency_issued_only", present=present[1:])
    }
    assert ok[wu.C_PREINSTALLED] == "pass"


@pytest.mark.parametrize(
    ("allowed", "mode", "block", "status"),
    [
        (None, "prohibit", True, "fail"),
        ("{0000110B-0000-1000-8000-00805F9B34FB};{00001124-0000-1000-8000-00805F9B34FB}", "prohibit", True, "pass"),
        (
            "{0000110B-0000-1000-8000-00805F9B34FB};{00001105-0000-1000-8000-00805f9b34fb}",
            "agency_issued_only",
            True,
            "fail",
        ),
        (None, "agency_issued_only", False, "not_applicable"),
        (None, "audit_only", True, "not_applicable"),
    ],
)
@pytest.mark.control("6-17.win_bluetooth_file_transfer")
def test_bluetooth_file_transfer_is_read_and_reported(allowed, mode, block, status) -> None:
    planned = wu.plan(mode, [], TODAY, block_smartphones=block)
    reads = empty_reads(planned)
    if allowed is not None:
        for r in reads:
            if r["item"] == wu.BLUETOOTH_POLICY:
                r.update(exists=True, properties={"ServicesAllowedList": {"type": "REG_SZ", "value": allowed}})
    d = wu.diff(planned, reads, BOOT)
    f = next(x for x in wu.findings(planned, d, [], False, False, mode) if x["id"] == wu.C_BLUETOOTH)
    assert f["status"] == status
    assert not [c for c in d["changes"] if c["path"] == wu.BLUETOOTH_POLICY]  # never written


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
    st.sampled_from([3, 4]),
)
@pytest.mark.control(
    "6-17.win_removable_storage_policy", "6-17.win_device_install_restrictions", "6-17.win_usbstor_disabled"
)
def test_any_sequence_of_modes_converges_and_is_idempotent(entries, modes, start) -> None:
    """Whatever was applied before, one run reaches the plan and a second run changes nothing;
    the storage drivers end as they were found unless the last mode is prohibit."""
    devices = [dict(e, label="L%d" % i, issued_on="2026-01-01") for i, e in enumerate(entries)]
    ids = dict((d["label"], [INQ]) for d in devices)
    reads = empty_reads(wu.plan("audit_only", [], TODAY))
    for r in reads:
        if r["item"].startswith(wu.SERVICES):
            r["properties"]["Start"]["value"] = start
    for n, mode in enumerate(modes):
        planned, reads, _ = converge(mode, devices, reads, boot="boot-%d" % n, extra_instance_ids=ids)
        assert wu.diff(planned, reads, "boot-%d" % n)["changes"] == []
    allowed = set(list_of(reads, "AllowInstanceIDs"))
    expected = {
        "USBSTOR\\DISK&VEN_SANDISK&PROD_ULTRA_FIT&REV_1.00\\%s&0" % e["serial"]
        for e in devices
        if e["state"] == "active"
    }
    assert allowed == (expected if modes[-1] == "agency_issued_only" else set())
    assert (values_of(reads, wu.RSD) or {}).get("Deny_All") == (1 if modes[-1] == "prohibit" else None)
    assert values_of(reads, wu.SERVICES + "\\USBSTOR") == {"Start": 4 if modes[-1] == "prohibit" else start}
