"""The roles' Windows tasks, run with ansible-playbook against a recorded Windows host.

No Windows here (see tests/windows/winhost.py and the recorder under tests/windows/collections):
every ansible.windows / community.windows call is validated against the real module's
documented options, recorded, and applied to a fake host state. The assertions are on the
exact module calls per mode, the resulting state, and the findings handed on.
"""

from __future__ import annotations

import copy
import hashlib
import json
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "windows"))
import winhost

RSD = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\RemovableStorageDevices"
DIR = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\DeviceInstall\\Restrictions"
SVC = "HKLM:\\SYSTEM\\CurrentControlSet\\Services"
DISK, CD = "{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}", "{53f56308-b6bf-11d0-94f2-00a0c91efb8b}"
WPD = ("{6AC27878-A6FA-4155-BA85-F98F491D4F33}", "{F33FDC04-D1AC-4E8E-9A30-19BBD4B108AE}")
INPUT_CLASSES = [
    "{745a17a0-74d3-11d0-b6fe-00a0c90f57da}",
    "{4d36e96b-e325-11ce-bfc1-08002be10318}",
    "{4d36e96f-e325-11ce-bfc1-08002be10318}",
    "{36fc9e60-c465-11cf-8056-444553540000}",
]
A = {"id": "0781:5581", "serial": "AGENCY0001", "label": "PC-USB-0001", "issued_on": "2026-04-01"}
B = {"id": "0781:5581", "serial": "AGENCY0002", "label": "PC-USB-0002", "issued_on": "2026-04-01"}
USB_CONTROLS = [
    "6-17.win_removable_storage_policy",
    "6-17.smartphone_blocked",
    "6-17.win_device_install_restrictions",
    "6-17.win_usbstor_disabled",
    "6-17.win_removable_audit",
]


INQ = {"vendor": "SanDisk", "product": "Ultra", "revision": "1.00"}
A_DISK = "USBSTOR\\DISK&VEN_SANDISK&PROD_ULTRA&REV_1.00\\AGENCY0001&0"
B_DISK = "USBSTOR\\DISK&VEN_SANDISK&PROD_ULTRA&REV_1.00\\AGENCY0002&0"
PENDING = "HKLM:\\SOFTWARE\\pii_guard\\safeguards\\PendingRestart"
RECORD = "HKLM:\\SOFTWARE\\pii_guard\\safeguards\\ServiceStart"
RESTART_CONTROLS = USB_CONTROLS[:4]
SETUP = {
    "CDROM": "{4d36e965-e325-11ce-bfc1-08002be10318}",
    "WPD": "{eec5ad98-8080-425f-922a-dabf3de3f69a}",
    "SDHost": "{a0a588a4-c46f-4b37-b7ea-c82fe89870c6}",
    "1394": "{6bdd1fc1-810f-11d0-bec7-08002be2092f}",
    "SmartCardReader": "{50dd5230-ba8a-11d1-bf5d-0000f805f530}",
    "SmartCard": "{990a2bd7-e738-46c7-b26f-1cf8fb9f1391}",
    "MEDIA": "{4d36e96c-e325-11ce-bfc1-08002be10318}",
    "Ports": "{4d36e978-e325-11ce-bfc1-08002be10318}",
}
PHONE_IDS = [
    "USB\\Class_E0&SubClass_01&Prot_03",
    "USB\\MS_COMP_RNDIS",
    "USB\\Class_02&SubClass_06",
    "USB\\Class_02&SubClass_0D",
]
ADB = "USB\\Class_FF&SubClass_42&Prot_01"
ALLOW_CLASSES = [*INPUT_CLASSES, SETUP["SmartCardReader"], SETUP["SmartCard"], SETUP["MEDIA"], SETUP["Ports"]]
DENY_CLASSES = [SETUP["CDROM"], SETUP["WPD"], SETUP["SDHost"], SETUP["1394"]]
DENY_IDS = ["USBSTOR\\Disk", *PHONE_IDS, ADB]


def usb_vars(mode, devices, **extra):
    hv = {
        "usb_storage_mode": mode,
        "usb_storage_devices": devices,
        "usb_storage_today": "2026-11-28",
        "usb_storage_windows_instance_ids": dict(
            (d["label"], [INQ]) for d in devices if d["label"] in ("PC-USB-0001", "PC-USB-0002")
        ),
    }
    hv.update(extra)
    return hv


def regedits(run):
    """The win_regedit calls as (path, name, data|state) tuples, in call order."""
    out = []
    for c in run.of("win_regedit"):
        a = c["args"]
        out.append((a["path"], a.get("name"), a["data"] if a.get("state", "present") == "present" else "absent"))
    return out


def reg_values(state, path):
    k = state["registry"].get(path.replace("HKLM:", "HKLM").lower())
    return None if k is None else dict((n, v["value"]) for n, v in k["values"].items())


def reg_list(state, name):
    return list((reg_values(state, DIR + "\\" + name) or {}).values())


def digest(state):
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def audit_calls(run):
    return [(c["args"]["subcategory"], c["args"]["audit_type"]) for c in run.of("win_audit_policy_system")]


def restarted(state, n):
    state = copy.deepcopy(state)
    state["boot_time"] = "2026-11-30T1%d:00:00.0000000Z" % n
    return state


LOCAL_AUDIT = [
    ("リムーバブル記憶域", ["success", "failure"]),
    ("プラグ アンド プレイ イベント", ["success", "failure"]),
]


@pytest.fixture(scope="module")
def usb_runs(tmp_path_factory):
    """prohibit -> again (same boot) -> after a restart -> agency_issued_only -> again after a
    restart -> replace A by B -> audit_only, one host."""
    tmp = tmp_path_factory.mktemp("winusb")
    runs = {}
    state = winhost.fresh_state()
    for name, mode, devices, boot in (
        ("prohibit", "prohibit", [A], None),
        ("prohibit_again", "prohibit", [A], None),
        ("prohibit_restarted", "prohibit", [A], 1),
        ("agency", "agency_issued_only", [A, dict(B, state="revoked")], None),
        ("agency_again", "agency_issued_only", [A, dict(B, state="revoked")], 2),
        ("replace", "agency_issued_only", [dict(A, state="revoked", replaced_by="PC-USB-0002"), B], 3),
        ("audit_only", "audit_only", [dict(A, state="revoked"), B], 4),
    ):
        if boot is not None:
            state = restarted(state, boot)
        run = winhost.play(tmp, "usb.yml", usb_vars(mode, devices), state)
        assert run.rc == 0, run.out[-4000:]
        runs[name] = run
        state = run.state
    return runs


@pytest.mark.control(
    "6-17.win_removable_storage_policy",
    "6-17.win_device_install_restrictions",
    "6-17.win_usbstor_disabled",
    "6-17.win_removable_audit",
)
def test_prohibit_makes_exactly_these_calls(usb_runs) -> None:
    run = usb_runs["prohibit"]
    assert regedits(run) == [
        (RSD, "Deny_All", 1),
        (RSD + "\\" + DISK, "Deny_Read", 1),
        (RSD + "\\" + DISK, "Deny_Write", 1),
        (RSD + "\\" + CD, "Deny_Read", 1),
        (RSD + "\\" + CD, "Deny_Write", 1),
        (RSD + "\\" + WPD[0], "Deny_Read", 1),
        (RSD + "\\" + WPD[0], "Deny_Write", 1),
        (RSD + "\\" + WPD[1], "Deny_Read", 1),
        (RSD + "\\" + WPD[1], "Deny_Write", 1),
        (DIR, "DenyRemovableDevices", 1),
        (DIR, "AllowDenyLayered", 1),
        (DIR, "AllowDeviceClasses", 1),
        (DIR, "DenyDeviceClasses", 1),
        (DIR, "DenyDeviceClassesRetroactive", 1),
        (DIR, "DenyDeviceIDs", 1),
        (DIR, "DenyDeviceIDsRetroactive", 1),
        (DIR, "AllowAdminInstall", 0),
        *[(DIR + "\\AllowDeviceClasses", str(i + 1), c) for i, c in enumerate(ALLOW_CLASSES)],
        *[(DIR + "\\DenyDeviceClasses", str(i + 1), c) for i, c in enumerate(DENY_CLASSES)],
        *[(DIR + "\\DenyDeviceIDs", str(i + 1), c) for i, c in enumerate(DENY_IDS)],
        (SVC + "\\USBSTOR", "Start", 4),
        (RECORD, "USBSTOR", 3),
        (SVC + "\\UASPStor", "Start", 4),
        (RECORD, "UASPStor", 3),
        *[(PENDING, c, winhost.BOOT_TIME) for c in RESTART_CONTROLS],
    ]
    assert all(
        c["args"]["type"] == "dword" for c in run.of("win_regedit") if c["args"]["name"] in ("Start", "Deny_All")
    )
    # Localised subcategory names, found by GUID.
    assert audit_calls(run) == LOCAL_AUDIT
    # Reads only through win_reg_stat and the one read-only script; nothing else touched the host.
    assert {c["module"] for c in run.calls} == {
        "ansible.windows.win_reg_stat",
        "ansible.windows.win_powershell",
        "ansible.windows.win_regedit",
        "ansible.windows.win_audit_policy_system",
    }
    assert reg_values(run.state, SVC + "\\USBSTOR") == {"Start": 4}
    # Policies that need a restart are not "fixed" until the host restarted.
    for c in RESTART_CONTROLS:
        f = run.finding(c)
        assert f["status"] == "fail" and f["observed"].startswith("pending_restart"), f
    assert run.finding("6-17.win_removable_audit")["status"] == "fixed"


def test_second_run_is_idempotent_and_a_restart_completes_the_policy(usb_runs) -> None:
    same_boot = usb_runs["prohibit_again"]
    assert same_boot.writes() == [] and "changed=0" in same_boot.out
    assert [same_boot.finding(c)["status"] for c in RESTART_CONTROLS] == ["fail"] * 4
    after = usb_runs["prohibit_restarted"]
    assert regedits(after) == [(PENDING, c, "absent") for c in RESTART_CONTROLS]
    assert all(after.finding(c)["status"] == "pass" for c in USB_CONTROLS), after.findings
    again = usb_runs["agency_again"]
    assert all(again.finding(c)["status"] == "pass" for c in USB_CONTROLS), again.findings


@pytest.mark.control("6-17.win_device_install_restrictions", "6-17.device_register")
def test_agency_issued_only_after_prohibit_gates_on_the_registered_usbstor_id(usb_runs) -> None:
    run = usb_runs["agency"]
    assert regedits(run) == [
        (RSD, "Deny_All", "absent"),
        (RSD + "\\" + DISK, "Deny_Read", "absent"),
        (RSD + "\\" + DISK, "Deny_Write", "absent"),
        (DIR, "DenyUnspecified", 1),
        (DIR, "AllowInstanceIDs", 1),
        # The revoked stick B is never rendered; A's disk node outranks DenyDeviceIDs USBSTOR\Disk.
        (DIR + "\\AllowInstanceIDs", "1", A_DISK),
        # Start goes back to what this role found (3), and the record goes.
        (SVC + "\\USBSTOR", "Start", 3),
        (RECORD, "USBSTOR", "absent"),
        (SVC + "\\UASPStor", "Start", 3),
        (RECORD, "UASPStor", "absent"),
        (PENDING, "6-17.win_removable_storage_policy", winhost.run_boot(run)),
        (PENDING, "6-17.win_device_install_restrictions", winhost.run_boot(run)),
        (PENDING, "6-17.win_usbstor_disabled", winhost.run_boot(run)),
    ]
    assert audit_calls(run) == []
    assert reg_list(run.state, "DenyDeviceIDs") == DENY_IDS
    reg = run.finding("6-17.device_register")
    assert reg["evidence"]["inactive"] == [{"label": "PC-USB-0002", "reason": "revoked"}]
    assert reg["evidence"]["windows_ids"] == {"PC-USB-0001": [A_DISK]}
    ev = run.finding("6-17.win_device_install_restrictions")["evidence"]
    assert ev["allow_instance_ids"] == [A_DISK] and "USBSTOR disk node is refused" in ev["unregistered_stick"]


@pytest.mark.control("6-17.win_device_install_restrictions", "6-17.device_register")
def test_replacing_a_by_b_swaps_the_allowed_instance_id(usb_runs) -> None:
    run = usb_runs["replace"]
    assert regedits(run) == [
        (DIR + "\\AllowInstanceIDs", "1", B_DISK),
        (PENDING, "6-17.win_device_install_restrictions", winhost.run_boot(run)),
    ]
    assert reg_values(run.state, DIR + "\\AllowInstanceIDs") == {"1": B_DISK}


@pytest.mark.control("6-17.win_removable_storage_policy", "6-17.win_device_classes")
def test_audit_only_removes_every_block(usb_runs) -> None:
    run = usb_runs["audit_only"]
    calls = regedits(run)
    for key in ("AllowInstanceIDs", "AllowDeviceClasses", "DenyDeviceClasses", "DenyDeviceIDs"):
        assert (DIR + "\\" + key, None, "absent") in calls
    for path, values in run.state["registry"].items():
        if path.startswith("hklm\\software\\policies\\microsoft\\windows\\"):
            assert values["values"] == {}, (path, values)
    assert reg_values(run.state, SVC + "\\USBSTOR") == {"Start": 3}
    assert run.finding("6-17.win_removable_storage_policy")["observed"].startswith("pending_restart")
    # Audit of removable storage stays on even in audit_only (it is the evidence).
    assert run.finding("6-17.win_removable_audit")["status"] == "pass"
    assert run.finding("6-17.win_device_classes")["status"] == "fail"  # lifting waits for the restart too


# One recorded-call check per row of the device-class matrix: what the registry holds after the
# role ran in prohibit and in agency_issued_only (audit_only holds none of it, above).
def _row_state(state, row):
    allow, deny_c, deny_i = (
        reg_list(state, "AllowDeviceClasses"),
        reg_list(state, "DenyDeviceClasses"),
        reg_list(state, "DenyDeviceIDs"),
    )
    d = reg_values(state, DIR) or {}
    rsd = lambda cls: reg_values(state, RSD + "\\" + cls) == {"Deny_Read": 1, "Deny_Write": 1}  # noqa: E731
    return {
        "usb_mass_storage": "USBSTOR\\Disk" in deny_i and d.get("DenyDeviceIDsRetroactive") == 1,
        "uasp_disks": d.get("DenyRemovableDevices") == 1,
        "optical": SETUP["CDROM"] in deny_c and rsd(CD),
        "mtp_ptp": SETUP["WPD"] in deny_c and all(rsd(w) for w in WPD),
        "phone_network": set(PHONE_IDS) <= set(deny_i),
        "vendor_specific": ADB in deny_i,
        "sd_mmc": SETUP["SDHost"] in deny_c and d.get("DenyDeviceClassesRetroactive") == 1,
        "thunderbolt_pcie": d.get("DenyRemovableDevices") == 1,
        "firewire": SETUP["1394"] in deny_c,
        "bluetooth_obex": reg_values(state, "HKLM:\\SOFTWARE\\Microsoft\\PolicyManager\\current\\device\\Bluetooth")
        is None,
        "smartcard_reader": {SETUP["SmartCardReader"], SETUP["SmartCard"]} <= set(allow),
        "hid": set(INPUT_CLASSES[:3]) <= set(allow),
        "hubs": INPUT_CLASSES[3] in allow,
        "audio": SETUP["MEDIA"] in allow,
        "serial": SETUP["Ports"] in allow,
    }[row]


MATRIX_ROWS = [
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


@pytest.mark.parametrize("row", MATRIX_ROWS)
@pytest.mark.control("6-17.win_device_classes")
def test_every_matrix_row_is_applied_as_recorded(usb_runs, row) -> None:
    for name in ("prohibit", "agency"):
        run = usb_runs[name]
        assert _row_state(run.state, row), (name, row)
        classes = run.finding("6-17.win_device_classes")
        by_row = {r["class"]: r for r in classes["evidence"]["classes"]}
        assert by_row[row]["expected"] == ("allowed" if row in MATRIX_ROWS[10:] else "blocked")
    bt = usb_runs["agency"].finding("6-17.win_bluetooth_file_transfer")
    assert bt["status"] == "fail" and "not set" in bt["observed"]  # read and reported, never written


@pytest.mark.control("6-17.win_device_classes")
def test_matrix_switches_change_their_rows(tmp_path) -> None:
    hv = usb_vars(
        "agency_issued_only",
        [A],
        usb_storage_block_optical=False,
        usb_storage_block_smartphones=False,
        usb_storage_windows_allow_audio=False,
        usb_storage_windows_allow_serial=False,
        usb_storage_windows_approved_classes=["{6bdd1fc6-810f-11d0-bec7-08002be2092f}"],
    )
    run = winhost.play(tmp_path, "usb.yml", hv, winhost.fresh_state())
    assert run.rc == 0, run.out[-4000:]
    got = {row: _row_state(run.state, row) for row in MATRIX_ROWS}
    off = {"optical", "mtp_ptp", "phone_network", "vendor_specific", "audio", "serial"}
    assert got == {row: row not in off for row in MATRIX_ROWS}
    assert "{6bdd1fc6-810f-11d0-bec7-08002be2092f}" in reg_list(run.state, "AllowDeviceClasses")
    assert run.finding("6-17.win_bluetooth_file_transfer")["status"] == "not_applicable"


def test_a_storage_class_cannot_be_approved(tmp_path) -> None:
    hv = usb_vars("prohibit", [], usb_storage_windows_approved_classes=["{4d36e967-e325-11ce-bfc1-08002be10318}"])
    run = winhost.play(tmp_path, "usb.yml", hv, winhost.fresh_state())
    assert run.rc != 0 and "usb_storage_windows_approved_classes[0]" in run.out and run.calls == []


PHONE = {"id": "04e8:6860", "serial": "R58M123", "label": "PHONE-1", "issued_on": "2026-01-05", "kind": "smartphone"}


@pytest.mark.control("6-17.smartphone_blocked")
def test_registering_one_phone_keeps_every_other_phone_denied(tmp_path) -> None:
    run = winhost.play(tmp_path, "usb.yml", usb_vars("agency_issued_only", [A, PHONE]), winhost.fresh_state())
    assert run.rc == 0, run.out[-4000:]
    assert all(reg_values(run.state, RSD + "\\" + w) is None for w in WPD)
    assert SETUP["WPD"] in reg_list(run.state, "DenyDeviceClasses")
    assert reg_list(run.state, "AllowInstanceIDs") == [A_DISK, "USB\\VID_04E8&PID_6860\\R58M123"]


@pytest.mark.control("6-17.win_usbstor_disabled")
def test_start_set_by_other_hardening_is_never_re_enabled(tmp_path) -> None:
    state = winhost.fresh_state()
    for svc in ("usbstor", "uaspstor"):
        state["registry"]["hklm\\system\\currentcontrolset\\services\\" + svc]["values"]["Start"]["value"] = 4
    for mode in ("agency_issued_only", "prohibit", "audit_only"):
        run = winhost.play(tmp_path, "usb.yml", usb_vars(mode, [A]), state)
        assert run.rc == 0, run.out[-4000:]
        assert not [c for c in regedits(run) if c[0].startswith(SVC) or c[0] == RECORD], (mode, regedits(run))
        assert reg_values(run.state, SVC + "\\USBSTOR") == {"Start": 4}
        state = restarted(run.state, 5)
    services = run.finding("6-17.win_usbstor_disabled")["evidence"]["services"]
    assert [s["set_by_this_role"] for s in services] == [False, False]


@pytest.mark.control("6-17.win_preinstalled_devices")
def test_devices_installed_before_the_policy_are_a_finding(tmp_path) -> None:
    state = winhost.fresh_state()
    state["pnp"] = [
        {
            "instance_id": "SCSI\\DISK&VEN_SAMSUNG&PROD_PORTABLE_SSD_T7\\7&2F1&0&000000",
            "class_guid": "{4d36e967-e325-11ce-bfc1-08002be10318}",
            "name": "Samsung Portable SSD T7",
            "removable": True,
        },
        {
            "instance_id": "USBSTOR\\DISK&VEN_KINGSTON&PROD_DT&REV_1.00\\X1&0",
            "class_guid": "{4d36e967-e325-11ce-bfc1-08002be10318}",
            "name": "stick (retroactively denied)",
            "removable": True,
        },
    ]
    run = winhost.play(tmp_path, "usb.yml", usb_vars("agency_issued_only", [A]), state)
    f = run.finding("6-17.win_preinstalled_devices")
    assert f["status"] == "fail" and f["observed"] == ["SCSI\\DISK&VEN_SAMSUNG&PROD_PORTABLE_SSD_T7\\7&2F1&0&000000"]


def test_opt_in_reboot_for_pending_policies(tmp_path) -> None:
    hv = usb_vars("prohibit", [A], usb_storage_windows_reboot=True)
    run = winhost.play(tmp_path, "usb.yml", hv, winhost.fresh_state())
    assert run.rc == 0, run.out[-4000:]
    assert len(run.of("win_reboot")) == 1 and run.state["boot_time"] != winhost.BOOT_TIME
    again = winhost.play(tmp_path, "usb.yml", hv, run.state)
    assert not again.of("win_reboot")
    assert all(again.finding(c)["status"] == "pass" for c in USB_CONTROLS), again.findings
    assert winhost.play(tmp_path, "usb.yml", usb_vars("prohibit", [A]), winhost.fresh_state()).of("win_reboot") == []


@pytest.mark.control("6-17.win_device_install_restrictions", "6-17.win_usbstor_disabled")
def test_check_mode_reports_drift_and_writes_nothing(tmp_path) -> None:
    state = winhost.fresh_state()
    run = winhost.play(tmp_path, "usb.yml", usb_vars("agency_issued_only", [A]), copy.deepcopy(state), "--check")
    assert run.rc == 0, run.out[-4000:]
    # Not one call to a write-capable module: the role skips them in check mode.
    assert not run.of("win_regedit") and not run.of("win_audit_policy_system") and not run.of("win_reboot")
    assert digest(run.state) == digest(state)
    # The reads still ran (the read script declares SupportsShouldProcess).
    assert len(run.of("win_reg_stat")) == 16 and len(run.of("win_powershell")) == 1
    statuses = {c: run.finding(c)["status"] for c in USB_CONTROLS}
    # A fresh host has USBSTOR on demand (Start=3) and agency_issued_only leaves it.
    assert statuses == dict({c: "fail" for c in USB_CONTROLS}, **{"6-17.win_usbstor_disabled": "pass"})
    drift = run.finding("6-17.win_device_install_restrictions")["evidence"]["drift"]
    assert {
        "path": DIR,
        "name": "DenyUnspecified",
        "observed": None,
        "expected": {"type": "REG_DWORD", "value": 1},
    } in drift


def test_bad_register_fails_before_any_host_call(tmp_path) -> None:
    run = winhost.play(
        tmp_path, "usb.yml", usb_vars("agency_issued_only", [dict(A, id="0781-5581")]), winhost.fresh_state()
    )
    assert run.rc != 0
    assert "usb_storage_devices[0] (label 'PC-USB-0001', serial 'AGENCY0001'): id '0781-5581'" in run.out
    assert run.calls == []


def test_unknown_mode_fails_before_any_host_call(tmp_path) -> None:
    run = winhost.play(tmp_path, "usb.yml", usb_vars("lockdown", [A]), winhost.fresh_state())
    assert run.rc != 0 and "lockdown" in run.out
    assert run.calls == []


# ------------------------------------------------------------------------------ clause 6-6
S = winhost.SIDS
ADMIN_VARS = {"admin_privileges_windows_approved_members": ["AGENCY\\PC-Admins", ".\\opadmin"]}


@pytest.fixture(scope="module")
def admin_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("winadm")
    first = winhost.play(tmp, "admin.yml", ADMIN_VARS, winhost.fresh_state())
    assert first.rc == 0, first.out[-4000:]
    again = winhost.play(tmp, "admin.yml", ADMIN_VARS, first.state)
    assert again.rc == 0, again.out[-4000:]
    return first, again


@pytest.mark.control("6-6.win_administrators_members", "6-6.win_builtin_administrator", "6-6.win_uac")
def test_administrators_set_by_sid_rid500_renamed_and_disabled_uac_enforced(admin_runs) -> None:
    run, _ = admin_runs
    (membership,) = run.of("win_group_membership")
    # The group's local name as read by SID; members as SIDs: approved + connecting account.
    assert membership["args"] == {
        "name": "Administratoren",
        "members": [S["pc_admins"], S["opadmin"], S["operator"]],
        "state": "pure",
    }
    assert [c["args"] for c in run.of("win_security_policy")] == [
        {"section": "System Access", "key": "NewAdministratorName", "value": "pg-localadmin"},
        {"section": "System Access", "key": "EnableAdminAccount", "value": "0"},
    ]
    assert [(c["args"]["name"], c["args"]["data"]) for c in run.of("win_regedit")] == [
        ("ConsentPromptBehaviorAdmin", 2),
        ("FilterAdministratorToken", 1),
    ]
    group = run.state["groups"]["S-1-5-32-544"]
    assert group["members"] == [S["operator"], S["pc_admins"], S["opadmin"]]
    rid500 = next(a for a in run.state["accounts"] if a["sid"] == S["rid500"])
    assert rid500["name"].endswith("\\pg-localadmin") and rid500["enabled"] is False
    assert [
        run.finding(c)["status"]
        for c in ("6-6.win_administrators_members", "6-6.win_builtin_administrator", "6-6.win_uac")
    ] == ["fixed"] * 3
    removed = run.finding("6-6.win_administrators_members")["evidence"]["to_remove"]
    assert [m["sid"] for m in removed] == [S["rid500"], S["domain_admins"], S["kiosk"]]
    assert run.finding("6-6.win_laps")["status"] == "fail"


@pytest.mark.control("6-6.win_administrators_members", "6-6.win_builtin_administrator", "6-6.win_uac")
def test_admin_second_run_is_idempotent(admin_runs) -> None:
    _, again = admin_runs
    assert again.writes() == []
    assert [
        again.finding(c)["status"]
        for c in ("6-6.win_administrators_members", "6-6.win_builtin_administrator", "6-6.win_uac")
    ] == ["pass"] * 3


@pytest.mark.control("6-6.win_builtin_administrator")
def test_guard_refuses_to_lock_out_the_connecting_rid500_account(tmp_path) -> None:
    state = winhost.fresh_state()
    state["whoami"]["account"] = {
        "sid": S["rid500"],
        "account_name": "Administrator",
        "domain_name": "PC-0042",
        "type": "User",
    }
    run = winhost.play(tmp_path, "admin.yml", ADMIN_VARS, copy.deepcopy(state))
    assert run.rc != 0
    assert "lock-out guard refused the change" in run.out and "built-in Administrator (RID 500)" in run.out
    assert run.writes() == [] and digest(run.state) == digest(state)


def test_unresolvable_approved_member_fails_before_any_write(tmp_path) -> None:
    hv = {"admin_privileges_windows_approved_members": ["AGENCY\\PC-Admins", "AGENCY\\nobody"]}
    run = winhost.play(tmp_path, "admin.yml", hv, winhost.fresh_state())
    assert run.rc != 0 and "'AGENCY\\\\\\\\nobody' does not resolve" in run.out
    assert run.writes() == []


@pytest.mark.control("6-6.win_administrators_members", "6-6.win_uac")
def test_admin_check_mode_reports_drift_without_writes(tmp_path) -> None:
    state = winhost.fresh_state()
    run = winhost.play(tmp_path, "admin.yml", ADMIN_VARS, copy.deepcopy(state), "--check")
    assert run.rc == 0, run.out[-4000:]
    assert not run.of("win_group_membership") and not run.of("win_security_policy") and not run.of("win_regedit")
    assert digest(run.state) == digest(state)
    assert run.finding("6-6.win_administrators_members")["status"] == "fail"
    assert run.finding("6-6.win_uac")["status"] == "fail"


# ------------------------------------------------------------------------------ the recorder
BAD_CALLS = [
    ({"ansible.windows.win_regedit": {"path": "HKLM:\\SOFTWARE\\X", "nme": "Y"}}, "nme"),
    ({"ansible.windows.win_regedit": {"path": "HKLM:\\SOFTWARE\\X", "state": "gone"}}, "state"),
    ({"ansible.windows.win_audit_policy_system": {"subcategory": "x", "audit_type": ["sometimes"]}}, "audit_type"),
    ({"ansible.windows.win_group_membership": {"name": "Administrators"}}, "members"),
]


def test_recorder_refuses_arguments_the_real_module_does_not_document(tmp_path) -> None:
    """The harness would catch a typo or a bad value in the roles' calls (validated against the
    DOCUMENTATION of the installed ansible.windows module, not against a copy)."""
    tasks = [dict(task, name="bad call %d" % i, ignore_errors=True) for i, (task, _) in enumerate(BAD_CALLS)]
    book = tmp_path / "bad.yml"
    book.write_text(json.dumps([{"hosts": "windows", "gather_facts": False, "tasks": tasks}]))
    run = winhost.play(tmp_path, str(book), {}, winhost.fresh_state())
    assert run.rc == 0, run.out[-3000:]
    assert [c["failed"] for c in run.calls] == [True] * len(BAD_CALLS)
    assert "ignored=%d" % len(BAD_CALLS) in run.out
    chunks = run.out.split("TASK [bad call ")[1:]
    for (_, needle), chunk in zip(BAD_CALLS, chunks, strict=True):
        assert "invalid arguments" in chunk and needle in chunk, chunk


# ------------------------------------------------------------------------------ audit.yml
def test_auditors_playbook_on_windows_only_reads_and_writes_the_report(tmp_path) -> None:
    """playbooks/audit.yml against the recorded Windows host: reads in check mode, no write
    call, the host unchanged, and the report carries the Windows findings of 6-17 and 6-6."""
    state = winhost.fresh_state()
    hv = dict(usb_vars("agency_issued_only", [A]), **ADMIN_VARS)
    reports = tmp_path / "reports"
    run = winhost.play(
        tmp_path,
        str(winhost.ROOT / "playbooks" / "audit.yml"),
        hv,
        copy.deepcopy(state),
        "-e",
        "pii_guard_audit_report_dir=%s" % reports,
        "-e",
        "pii_guard_audit_fail_on_findings=false",
    )
    assert run.rc == 0, run.out[-4000:]
    assert run.calls and all(c["check_mode"] for c in run.calls)
    assert {c["module"].split(".")[-1] for c in run.calls} <= {
        "win_ping",
        "win_reg_stat",
        "win_powershell",
        "win_whoami",
    }
    assert digest(run.state) == digest(state)
    (report,) = reports.glob("2*/report.json")
    (host,) = json.loads(report.read_text(encoding="utf-8"))["hosts"]
    assert host["name"] == "pc0042" and host["state"] == "complete"
    status = {f["id"]: f["status"] for f in host["findings"]}
    assert status["6-17.win_device_install_restrictions"] == "fail"
    assert status["6-6.win_administrators_members"] == "fail"
    assert status["6-17.device_register"] == "pass"


def test_harden_playbook_applies_both_windows_roles(tmp_path) -> None:
    """playbooks/harden.yml (the users' entry point) on the recorded Windows host."""
    hv = dict(usb_vars("agency_issued_only", [A]), **ADMIN_VARS)
    run = winhost.play(tmp_path, str(winhost.ROOT / "playbooks" / "harden.yml"), hv, winhost.fresh_state())
    assert run.rc == 0, run.out[-4000:]
    assert reg_values(run.state, DIR + "\\AllowInstanceIDs") == {"1": A_DISK}
    assert run.state["groups"]["S-1-5-32-544"]["members"] == [S["operator"], S["pc_admins"], S["opadmin"]]
    assert len(run.of("win_group_membership")) == 1 and len(run.of("win_security_policy")) == 2


# ------------------------------------------- issue 13 point 10: order, nested path, EnableLUA
def test_membership_change_runs_after_security_policy_and_uac(admin_runs) -> None:
    run, _ = admin_runs
    order = [c["module"].split(".")[-1] for c in run.calls if not c["check_mode"]]
    writes = [m for m in order if m in ("win_security_policy", "win_regedit", "win_group_membership")]
    assert writes[-1] == "win_group_membership" and writes.count("win_group_membership") == 1
    assert writes.index("win_group_membership") > max(i for i, m in enumerate(writes) if m != "win_group_membership")


@pytest.mark.control("6-6.win_administrators_members")
def test_operator_admin_through_domain_admins_keeps_that_path(tmp_path) -> None:
    state = winhost.fresh_state()
    group = state["groups"]["S-1-5-32-544"]
    group["members"] = [m for m in group["members"] if m != S["operator"]]  # only nested via Domain Admins
    run = winhost.play(tmp_path, "admin.yml", ADMIN_VARS, state)
    assert run.rc == 0, run.out[-4000:]
    (membership,) = run.of("win_group_membership")
    assert membership["args"]["members"] == [S["pc_admins"], S["opadmin"], S["domain_admins"]]
    assert S["operator"] not in run.state["groups"]["S-1-5-32-544"]["members"]
    ev = run.finding("6-6.win_administrators_members")["evidence"]
    assert ev["connecting_account"]["via"] == "group"
    nested = {g["name"]: [m["sid"] for m in g["members"]] for g in ev["nested_groups"]}
    assert nested["AGENCY\\Domain Admins"] == [S["operator"]]
    assert [g["members"] for g in ev["approved_groups"]] == [[{"sid": S["alice"], "name": "AGENCY\\alice"}]]


@pytest.mark.parametrize("unreachable", [False, True])
def test_approved_domain_group_empty_or_unresolvable_is_refused_before_any_write(tmp_path, unreachable) -> None:
    state = winhost.fresh_state()
    helpdesk = next(a for a in state["accounts"] if a["sid"] == S["helpdesk"])
    helpdesk["unreachable"] = unreachable
    run = winhost.play(
        tmp_path, "admin.yml", {"admin_privileges_windows_approved_members": ["AGENCY\\Helpdesk"]}, state
    )
    assert run.rc != 0 and "no approved administrator would keep admin rights" in run.out
    assert run.writes() == []


def enable_lua_off():
    state = winhost.fresh_state()
    uac = state["registry"]["hklm\\software\\microsoft\\windows\\currentversion\\policies\\system"]
    uac["values"]["EnableLUA"]["value"] = 0
    return state


@pytest.mark.control("6-6.win_uac")
def test_enable_lua_change_reports_pending_restart_until_the_host_restarts(tmp_path) -> None:
    first = winhost.play(tmp_path, "admin.yml", ADMIN_VARS, enable_lua_off())
    assert first.rc == 0, first.out[-4000:]
    uac = first.finding("6-6.win_uac")
    assert uac["status"] == "fail" and uac["observed"].startswith("pending_restart")
    assert reg_values(first.state, "HKLM:\\SOFTWARE\\pii_guard\\safeguards\\PendingRestart") == {
        "6-6.win_uac": winhost.BOOT_TIME
    }
    assert not first.of("win_reboot")
    same_boot = winhost.play(tmp_path, "admin.yml", ADMIN_VARS, first.state)
    assert same_boot.writes() == [] and same_boot.finding("6-6.win_uac")["status"] == "fail"
    restarted = copy.deepcopy(first.state)
    restarted["boot_time"] = "2026-11-30T09:00:00.0000000Z"
    after = winhost.play(tmp_path, "admin.yml", ADMIN_VARS, restarted)
    assert after.finding("6-6.win_uac")["status"] == "pass"
    assert [c["args"] for c in after.writes()] == [
        {"path": "HKLM:\\SOFTWARE\\pii_guard\\safeguards\\PendingRestart", "name": "6-6.win_uac", "state": "absent"}
    ]
    assert winhost.play(tmp_path, "admin.yml", ADMIN_VARS, after.state).writes() == []


@pytest.mark.control("6-6.win_uac")
def test_opt_in_reboot_restarts_once_for_enable_lua(tmp_path) -> None:
    hv = dict(ADMIN_VARS, admin_privileges_windows_reboot=True)
    run = winhost.play(tmp_path, "admin.yml", hv, enable_lua_off())
    assert run.rc == 0, run.out[-4000:]
    assert len(run.of("win_reboot")) == 1 and run.state["boot_time"] != winhost.BOOT_TIME
    again = winhost.play(tmp_path, "admin.yml", hv, run.state)
    assert not again.of("win_reboot") and again.finding("6-6.win_uac")["status"] == "pass"


# ------------------------------------------- issue 14 point 3: the declared ansible.windows floor
def test_recorder_checks_the_declared_floor_module_set(tmp_path) -> None:
    """With the old floor (>=2.0.0) the play fails: win_audit_policy_system first appeared in
    ansible.windows 2.7.0. The project's own galaxy.yml / requirements.yml pass."""
    old = tmp_path / "project"
    old.mkdir()
    for name in ("galaxy.yml", "requirements.yml"):
        text = (winhost.ROOT / name).read_text(encoding="utf-8")
        (old / name).write_text(text.replace('">=2.7.0"', '">=2.0.0"'), encoding="utf-8")
    run = winhost.play(tmp_path, "usb.yml", usb_vars("prohibit", []), winhost.fresh_state(), project=old)
    assert run.rc != 0
    assert "ansible.windows.win_audit_policy_system first appeared in ansible.windows 2.7.0" in run.out
    assert "the declared floor is 2.0.0" in run.out
