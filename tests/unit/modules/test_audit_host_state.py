"""audit_host_state against each module alone, both run as Ansible runs them, on one fake host.

The fake host is a temporary tree (usbguard layout, sysfs, console rules and PAM file, sudoers
with a drop-in, the download agent's config and state) plus stand-ins on PATH for
usbguard-rule-parser, usbguard (list-devices) and systemctl. Each run of the combined module
must return exactly what that module returns alone in check mode: the whole result, findings
included, so neither over- nor under-reports. Nothing on the host is ever applied by the
combined module; the modules alone apply only inside the tree (admin_privileges never).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.pii_guard.safeguards.plugins.module_utils.download import audit as A

ROOT = Path(__file__).resolve().parents[3]
MODULES = ROOT / "plugins" / "modules"
NAMES = ("usbguard_policy", "admin_privileges", "download_alert_info", "console_audit")
RULES = (ROOT / "roles" / "system_room" / "files" / "console.rules").read_text(encoding="utf-8")
REGISTERED = {"id": "46f4:0001", "serial": "AGENCY0001", "label": "PC-USB-0001", "issued_on": "2026-04-01"}
# usbguard list-devices as usbguard 1.1.2 prints it: a hub, a registered stick allowed, an
# unregistered stick blocked, a keyboard, a smartphone allowed (not as the policy says).
LIST_DEVICES = (
    '1: allow id 1d6b:0003 serial "0000:00:04.0" name "xHCI" hash "abc=" via-port "usb2" with-interface 09:00:03\n'
    '4: allow id 46f4:0001 serial "AGENCY0001" name "QEMU USB HARDDRIVE" via-port "2-2" with-interface 08:06:50\n'
    '5: block id 46f4:0001 serial "PRIVATE9999" name "QEMU USB HARDDRIVE" via-port "2-1" with-interface 08:06:50\n'
    '6: allow id 0627:0001 serial "68284-1" name "QEMU USB Keyboard" via-port "1-2" with-interface 03:01:01\n'
    '7: allow id 46f4:0004 serial "P1" name "phone" via-port "1-1.1" with-interface { 06:01:01 ff:ff:00 }\n'
)
STUBS = {
    "usbguard-rule-parser": "#!/bin/sh\nexit 0\n",
    # PATH holds only these stand-ins: shell builtins only (no cat)
    "usbguard": '#!/bin/sh\n[ "$1" = list-devices ] || exit 1\nprintf "%s" \'' + LIST_DEVICES + "'\n",
    "systemctl": '#!/bin/sh\ncase "$1" in is-enabled) echo enabled;; is-active) echo active;; esac\nexit 0\n',
    # The host's own modprobe is never run (get_bin_path would find /usr/sbin/modprobe).
    "modprobe": "#!/bin/sh\nexit 0\n",
}


def write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


@pytest.fixture
def host(tmp_path: Path) -> Path:
    for name, text in STUBS.items():
        write(tmp_path / "bin" / name, text, 0o755)
    etc = tmp_path / "etc"
    write(
        etc / "usbguard" / "usbguard-daemon.conf",
        f"RuleFile={etc}/usbguard/rules.conf\nRuleFolder={etc}/usbguard/rules.d/\n"
        "ImplicitPolicyTarget=allow\nIPCAllowedGroups=root plugdev\nAuditBackend=FileAudit\n",
        0o600,
    )
    write(etc / "usbguard" / "rules.conf", "allow\n")
    write(etc / "usbguard" / "rules.d" / "10-local.conf", 'allow id 1234:5678 serial "X"\n')
    (etc / "modprobe.d").mkdir()
    (tmp_path / "sys" / "class" / "mmc_host" / "mmc0").mkdir(parents=True)
    (tmp_path / "usb-bus").mkdir()
    write(etc / "pam.d" / "login", "auth       requisite  pam_nologin.so\nsession    required   pam_env.so\n")
    write(etc / "audit" / "rules.d" / "60-pii-guard-console.rules", "-w /run/utmp -p wa -k pii_guard_session\n")
    write(etc / "sudoers", f"root ALL=(ALL:ALL) ALL\n@includedir {etc}/sudoers.d\n", 0o440)
    write(etc / "sudoers.d" / "legacy", "bob ALL=(ALL) NOPASSWD: ALL\n", 0o440)
    (tmp_path / "srv" / "pii").mkdir(parents=True)
    (tmp_path / "pg").mkdir()
    cfg = download_config(tmp_path)
    write(etc / "pii-download-alert" / "config.json", json.dumps(dict(cfg, datasets=cfg["datasets"][:1])))
    write(tmp_path / "state.json", json.dumps({"unusable": {"/var/log/audit/audit.log": {"not_a_record": 2}}}))
    return tmp_path


def download_config(host: Path) -> dict:
    datasets = [
        {"name": "citizens", "source": "audit", "paths": [str(host / "srv" / "pii")], "threshold": 100, "window": 60},
        {"name": "db", "source": "pgaudit", "log": str(host / "pg" / "p.log"), "database": "pii", "threshold": 9},
    ]
    cfg = A.agent_config(datasets, {"journal": True}, "2026-01-10", 180, {"max_keys": 5000})
    return dict(cfg, state_file=str(host / "state.json"))


def args(host: Path, name: str) -> dict:
    """Each module's arguments on the fake host, as its role passes them."""
    etc = host / "etc"
    return {
        "usbguard_policy": {
            "mode": "agency_issued_only",
            "devices": [
                REGISTERED,
                dict(REGISTERED, serial="R1", label="L-R", state="revoked"),
                {"id": "46f4:0002", "label": "PC-USB-MW", "issued_on": "2026-04-01"},  # model-wide: a warning
            ],
            "allow_model_wide": True,
            "today": "2026-11-28",
            "daemon_config_path": str(etc / "usbguard" / "usbguard-daemon.conf"),
            "modprobe_path": str(etc / "modprobe.d" / "pii-guard-usb-storage.conf"),
            "backup_dir": str(host / "backup"),
            "usb_bus_path": str(host / "usb-bus"),
            "sysfs_path": str(host / "sys"),
            "proc_path": str(host / "proc"),
            "bus_modprobe_path": str(etc / "modprobe.d" / "pii-guard-buses.conf"),
            "user_unit_dir": str(etc / "systemd" / "user"),
        },
        "admin_privileges": {
            "approved_users": ["root"],
            "operator": "root",
            "operator_via_ssh": False,
            "temporary": [{"user": "alice", "until": "2099-12-01", "reason": "migration", "ticket": "CHG-1"}],
            "sudoers": str(etc / "sudoers"),
            "sshd_dropin": str(etc / "ssh" / "00-pii-guard-admin.conf"),
            "audit_rules_file": str(etc / "audit" / "rules.d" / "pii_guard_admin.rules"),
            "quarantine_dir": str(host / "quarantine"),
            "backup_dir": str(host / "backup"),
        },
        "download_alert_info": {
            "config": download_config(host),
            "config_path": str(etc / "pii-download-alert" / "config.json"),
            "today": "2026-11-28",
        },
        "console_audit": {
            "rules": RULES,
            "rules_path": str(etc / "audit" / "rules.d" / "60-pii-guard-console.rules"),
            "pam_service_file": str(etc / "pam.d" / "login"),
            "load_rules": False,
            "backup_dir": str(host / "backup"),
        },
    }[name]


def module(host: Path, name: str, params: dict, check: bool = True) -> dict:
    """One module run as Ansible runs it; `invocation` (the arguments echoed) left out, warnings as text."""
    params = dict(
        params,
        _ansible_check_mode=check,
        _ansible_diff=False,
        _ansible_module_name="pii_guard.safeguards." + name,
        _ansible_tmpdir=str(host / "tmp"),
        _ansible_remote_tmp=str(host / "tmp"),
        _ansible_keep_remote_files=False,
    )
    env = {"PATH": str(host / "bin"), "PYTHONPATH": str(ROOT / ".cache" / "collections"), "LANG": "C.UTF-8"}
    proc = subprocess.run(
        [sys.executable, str(MODULES / f"{name}.py")],
        input=json.dumps({"ANSIBLE_MODULE_ARGS": params}),
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert proc.stdout, proc.stderr
    out = json.loads(proc.stdout)
    out.pop("invocation", None)
    if "warnings" in out:  # ansible-core 2.19 sends each as a WarningSummary the controller unwraps to its text
        out["warnings"] = [w["event"]["msg"] if isinstance(w, dict) else w for w in out["warnings"]]
    return out


def combined(host: Path, runs: list[dict], check: bool = True) -> dict:
    out = module(host, "audit_host_state", {"runs": runs}, check=check)
    assert out.get("changed") is False, out
    return out


def tree(path: Path) -> dict[str, str]:
    """Digest and mode of every file and directory of the fake host (the stand-ins aside)."""
    return {
        str(p.relative_to(path)): (hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir")
        + oct(p.stat().st_mode)
        for p in sorted(path.rglob("*"))
        if "bin" not in p.relative_to(path).parts and "tmp" not in p.relative_to(path).parts
    }


@pytest.mark.parametrize("name", NAMES)
def test_each_run_returns_what_the_module_alone_returns_in_check_mode(host: Path, name: str) -> None:
    alone = module(host, name, args(host, name))
    assert not alone.get("failed") and alone["findings"], alone  # a real result, not two failures
    out = combined(host, [{"name": name, "args": args(host, name)}])
    assert out["results"] == [alone]
    if name == "usbguard_policy":  # its warning: in the run's result as alone, and on this task
        assert alone["warnings"] and out["warnings"] == ["pii_guard.safeguards.%s: %s" % (name, alone["warnings"][0])]


def test_all_four_in_one_run_each_as_alone_in_order(host: Path) -> None:
    alone = [module(host, name, args(host, name)) for name in NAMES]
    statuses = {f["status"] for r in alone for f in r["findings"]}
    assert {"pass", "fail"} <= statuses, statuses  # the fake host has both, so both are compared
    runs = [{"name": name, "args": args(host, name)} for name in reversed(NAMES)]
    assert combined(host, runs)["results"] == alone[::-1]


@pytest.mark.parametrize("name", ["usbguard_policy", "console_audit"])
def test_after_an_apply_the_runs_still_equal_the_module_alone(host: Path, name: str) -> None:
    applied = module(host, name, args(host, name), check=False)
    assert applied["changed"] and not applied.get("failed"), applied
    alone = module(host, name, args(host, name))
    assert not alone["changed"], alone  # now in place: the check reports nothing to change
    assert combined(host, [{"name": name, "args": args(host, name)}])["results"] == [alone]


def test_a_failing_run_is_reported_in_its_place_and_the_others_still_run(host: Path) -> None:
    bad_usb = dict(args(host, "usbguard_policy"), mode="lock_everything")
    bad_admin = dict(args(host, "admin_privileges"), bogus=1)
    no_path = args(host, "download_alert_info")
    no_path["config"]["datasets"][0]["paths"].append(str(host / "srv" / "gone"))
    no_rules = dict(args(host, "console_audit"))
    del no_rules["rules"]
    runs = [
        {"name": "usbguard_policy", "args": bad_usb},
        {"name": "console_audit", "args": args(host, "console_audit")},
        {"name": "admin_privileges", "args": bad_admin},
        {"name": "download_alert_info", "args": no_path},
        {"name": "console_audit", "args": no_rules},
    ]
    results = combined(host, runs)["results"]
    assert results == [module(host, r["name"], r["args"]) for r in runs]
    assert [bool(r.get("failed")) for r in results] == [True, False, True, True, True]
    assert results[0]["msg"].startswith("value of mode must be one of: prohibit, agency_issued_only, audit_only")
    assert results[1]["findings"][0]["id"] == "7-1.console_login_audit"
    assert results[2]["msg"].startswith("Unsupported parameters for (pii_guard.safeguards.admin_privileges) module")
    assert results[3]["missing_paths"] == [str(host / "srv" / "gone")]  # fail_json's own keys kept
    assert results[4]["msg"] == "missing required arguments: rules"


def test_an_unknown_run_name_is_refused(host: Path) -> None:
    out = module(host, "audit_host_state", {"runs": [{"name": "usb_devices_info", "args": {}}]})
    assert out["failed"] and "value of name must be one of: usbguard_policy" in out["msg"], out


@pytest.mark.parametrize("check", [True, False])
def test_nothing_is_written_even_when_the_task_is_not_in_check_mode(host: Path, check: bool) -> None:
    before = tree(host)
    out = combined(host, [{"name": name, "args": args(host, name)} for name in NAMES], check=check)
    assert all(not r.get("failed") for r in out["results"]), out
    assert [r["changed"] for r in out["results"]] == [True, True, False, True]  # what an apply would change
    assert tree(host) == before
