"""The usbguard_policy module run for real against a temporary usbguard layout.

The module runs as Ansible runs it (a Python process reading ANSIBLE_MODULE_ARGS), with
usbguard-rule-parser on PATH and no systemctl, usbguard client or USB bus in reach, so the
host's own usbguard and kernel are never touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
MODULE = ROOT / "plugins" / "modules" / "usbguard_policy.py"
PARSER = shutil.which("usbguard-rule-parser")
pytestmark = pytest.mark.skipif(PARSER is None, reason="usbguard-rule-parser missing: run tools/apt-deps.sh")
A = {"id": "46f4:0001", "serial": "AGENCY0001", "label": "PC-USB-0001", "issued_on": "2026-04-01"}


@pytest.fixture
def lab(tmp_path):
    etc = tmp_path / "etc"
    (etc / "rules.d").mkdir(parents=True)
    (etc / "usbguard-daemon.conf").write_text(
        "# Debian default, trimmed\n"
        f"RuleFile={etc}/rules.conf\n"
        f"RuleFolder={etc}/rules.d/\n"
        "ImplicitPolicyTarget=allow\n"
        "IPCAllowedGroups=root plugdev\n"
        "AuditBackend=FileAudit\n"
    )
    (etc / "rules.conf").write_text("allow\n")  # a foreign catch-all that would defeat the policy
    (etc / "rules.d" / "10-local.conf").write_text('allow id 1234:5678 serial "X"\n')
    binpath = tmp_path / "bin"
    binpath.mkdir()
    os.symlink(PARSER, binpath / "usbguard-rule-parser")
    # A modprobe stand-in found before the host's /usr/sbin/modprobe: it logs its arguments and
    # answers a dry run as the drop-in on this fake host says, so the host's kernel is never touched.
    (binpath / "modprobe").write_text(
        "#!/bin/sh\nPATH=/usr/bin:/bin\n"
        f'echo "$@" >> "{tmp_path}/bin/modprobe.log"\n'
        'if [ "$1" = -n ]; then\n'
        f'  grep -qx "install $3 /bin/false" "{tmp_path}/modprobe.d/pii-guard-buses.conf" 2>/dev/null'
        ' && echo "install /bin/false" || echo "insmod /lib/modules/x/$3.ko"\n'
        "fi\n"
    )
    (binpath / "modprobe").chmod(0o755)
    return tmp_path


def run(lab: Path, check=False, **args):
    params = {
        "mode": "agency_issued_only",
        "devices": [A],
        "today": "2026-11-28",
        "daemon_config_path": str(lab / "etc" / "usbguard-daemon.conf"),
        "modprobe_path": str(lab / "modprobe.d" / "pii-guard-usb-storage.conf"),
        "backup_dir": str(lab / "backup"),
        "usb_bus_path": str(lab / "no-usb-bus"),
        "sysfs_path": str(lab / "sys"),  # an empty sysfs: no SD/MMC, Thunderbolt, FireWire, Bluetooth
        "proc_path": str(lab / "proc"),
        "bus_modprobe_path": str(lab / "modprobe.d" / "pii-guard-buses.conf"),
        "user_unit_dir": str(lab / "systemd" / "user"),
        "_ansible_check_mode": check,
        "_ansible_diff": True,
    }
    params.update(args)
    (lab / "modprobe.d").mkdir(exist_ok=True)
    env = {"PATH": str(lab / "bin"), "PYTHONPATH": str(ROOT / ".cache" / "collections"), "LANG": "C.UTF-8"}
    proc = subprocess.run(
        [sys.executable, str(MODULE)],
        input=json.dumps({"ANSIBLE_MODULE_ARGS": params}),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.stdout, proc.stderr
    return json.loads(proc.stdout)


def tree(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest() + oct(p.stat().st_mode)
        for p in sorted(path.rglob("*"))
        if p.is_file() and "bin" not in p.parts
    }


def status(result, control):
    return next(f["status"] for f in result["findings"] if f["id"] == control)


@pytest.mark.control("6-17.usbguard_rules")
def test_check_mode_writes_nothing_and_shows_the_diff(lab):
    before = tree(lab)
    res = run(lab, check=True)
    assert res["changed"] is True, res
    assert tree(lab) == before
    headers = [d["after_header"] for d in res["diff"]]
    assert str(lab / "etc" / "rules.d" / "50-pii-guard.conf") in headers
    assert f"{lab}/etc/rules.conf (emptied)" in headers and f"{lab}/etc/rules.d/10-local.conf (removed)" in headers
    assert status(res, "6-17.usbguard_rules") == "fail"


@pytest.mark.control("6-17.usbguard_rules", "6-17.usbguard_daemon_config", "6-17.usbguard_service")
def test_apply_then_idempotent(lab):
    res = run(lab)
    assert res["changed"] is True and not res.get("failed"), res
    rules = lab / "etc" / "rules.d" / "50-pii-guard.conf"
    assert oct(rules.stat().st_mode & 0o777) == "0o600"
    assert 'allow id 46f4:0001 serial "AGENCY0001" label "pii-guard:PC-USB-0001"' in rules.read_text()
    assert subprocess.run([PARSER, "-f", str(rules)], capture_output=True, check=False).returncode == 0
    conf = (lab / "etc" / "usbguard-daemon.conf").read_text()
    assert "ImplicitPolicyTarget=block\n" in conf and "ImplicitPolicyTarget=allow" not in conf
    assert "AuditBackend=LinuxAudit\n" in conf and "IPCAllowedGroups=root\n" in conf
    assert conf.startswith("# Debian default, trimmed\n")
    # Foreign rule sources neutralised, each backed up first.
    assert (lab / "etc" / "rules.conf").read_text() == ""
    assert sorted(os.listdir(lab / "etc" / "rules.d")) == ["50-pii-guard.conf"]
    assert sorted(Path(b).name.split(".")[0] for b in res["backups"]) == ["10-local", "rules", "usbguard-daemon"]
    assert all(Path(b).exists() for b in res["backups"])
    assert all(Path(b).is_relative_to(lab / "backup") for b in res["backups"])  # the one backup directory
    assert status(res, "6-17.usbguard_rules") == "fixed"
    assert status(res, "6-17.usbguard_service") == "not_applicable"  # no USB bus here
    before = tree(lab)
    again = run(lab)
    assert again["changed"] is False and again["backups"] == []
    assert tree(lab) == before
    assert {f["id"]: f["status"] for f in again["findings"]} == {
        "6-17.usbguard_service": "not_applicable",
        "6-17.usbguard_daemon_config": "pass",
        "6-17.usbguard_rules": "pass",
        "6-17.storage_driver_disabled": "not_applicable",
        "6-17.smartphone_blocked": "pass",
        "6-17.device_register": "pass",
        "6-17.connected_devices": "not_applicable",
        "6-17.device_classes": "pass",
        "6-17.bus_media_blocked": "pass",
    }


@pytest.mark.control("6-17.storage_driver_disabled")
def test_prohibit_writes_modprobe_dropin_and_other_modes_remove_it(lab):
    res = run(lab, mode="prohibit")
    dropin = lab / "modprobe.d" / "pii-guard-usb-storage.conf"
    text = dropin.read_text()
    assert "install usb-storage /bin/false\n" in text and "install uas /bin/false\n" in text
    assert status(res, "6-17.storage_driver_disabled") == "fixed"
    rules = (lab / "etc" / "rules.d" / "50-pii-guard.conf").read_text()
    assert "AGENCY0001" not in rules
    res = run(lab, mode="audit_only")
    assert not dropin.exists()
    assert status(res, "6-17.smartphone_blocked") == "fail"  # audit_only blocks nothing, says so


@pytest.mark.control("6-17.device_register")
def test_bad_register_fails_before_writing(lab):
    before = tree(lab)
    res = run(lab, devices=[A, dict(A, label="PC-USB-0002")])
    assert res["failed"] is True
    assert res["msg"].startswith("usb_storage_devices[1] (label 'PC-USB-0002', serial 'AGENCY0001'): serial")
    assert tree(lab) == before


def test_a_rules_file_the_parser_refuses_puts_every_written_file_back(lab):
    # The parser accepts each rule line (planning) but refuses the written file: the daemon
    # configuration, written first in the same group, must be restored and no temp file left.
    parser = lab / "bin" / "usbguard-rule-parser"
    parser.unlink()
    parser.write_text(f'#!/bin/sh\n[ "$1" = -f ] && {{ echo refused >&2; exit 1; }}\nexec {PARSER} "$@"\n')
    parser.chmod(0o755)
    before = tree(lab)
    res = run(lab)
    assert res.get("failed") and "refused the rendered rules" in res["msg"] and "restored" in res["msg"], res
    assert res["rollback_errors"] == []
    assert {k: v for k, v in tree(lab).items() if not k.startswith("backup/")} == before
    assert not [p for p in (lab / "etc").rglob(".pii_guard.*")]
    # The configuration's previous version is still in the backup directory.
    assert [Path(b).name.split(".")[0] for b in res["backups"]] == ["usbguard-daemon"]


@pytest.mark.control("6-17.device_register")
def test_revoked_and_expired_are_reported_not_rendered(lab):
    devices = [
        A,
        dict(A, serial="R1", label="L-R", state="revoked"),
        dict(A, serial="E1", label="L-E", expires_on="2026-05-01"),
    ]
    res = run(lab, devices=devices)
    assert res["rendered"] == ["PC-USB-0001"]
    assert {(e["label"], e["reason"]) for e in res["inactive"]} == {("L-R", "revoked"), ("L-E", "expired")}
    text = (lab / "etc" / "rules.d" / "50-pii-guard.conf").read_text()
    assert "R1" not in text and "E1" not in text


@pytest.mark.parametrize("where", ["etc", "outside", "symlink", "rulefile"])
@pytest.mark.control("6-17.usbguard_rules")
def test_rule_sources_outside_the_usbguard_directory_are_refused(lab, where):
    # exclusive mode removes every other file of RuleFolder and empties RuleFile: pointed at
    # /etc (or the usbguard directory itself) it deleted shadow, usbguard-daemon.conf, rules.conf.
    etc = lab / "etc"
    (lab / "shadow").write_text("root:$6$secret-hash:19000:0:99999:7:::\n")
    conf = etc / "usbguard-daemon.conf"
    text = conf.read_text()
    if where == "etc":
        folder = f"{etc}"  # RuleFolder=/etc/usbguard: forgot rules.d
    elif where == "outside":
        folder = f"{lab}/"
    elif where == "symlink":
        os.symlink(lab, etc / "rules.link")
        folder = f"{etc}/rules.link/"
    if where == "rulefile":
        conf.write_text(text.replace(f"RuleFile={etc}/rules.conf", f"RuleFile={lab}/shadow"))
    else:
        conf.write_text(text.replace(f"RuleFolder={etc}/rules.d/", f"RuleFolder={folder}"))
    before = tree(lab)
    for check in (True, False):
        res = run(lab, check=check)
        assert res.get("failed") and not res.get("changed"), res
        assert ("RuleFile" if where == "rulefile" else "RuleFolder") in res["msg"] and str(conf) in res["msg"]
        assert "secret-hash" not in json.dumps(res)
        assert tree(lab) == before
    # The same folder given as input is refused naming the role variable.
    if where != "rulefile":
        conf.write_text(text)
        res = run(lab, check=True, daemon_settings={"RuleFolder": folder})
        assert res.get("failed") and "usb_storage_daemon_settings" in res["msg"], res
        assert tree(lab) == before | {"etc/usbguard-daemon.conf": tree(lab)["etc/usbguard-daemon.conf"]}


@pytest.mark.control("6-17.usbguard_rules")
def test_diff_never_shows_a_foreign_files_content(lab):
    res = run(lab, check=True)
    diff = json.dumps(res["diff"])
    assert 'allow id 1234:5678 serial \\"X\\"' not in diff and "content not shown" in diff
    foreign = next(d for d in res["diff"] if d["after_header"].endswith("10-local.conf (removed)"))
    assert foreign["before"].startswith("(%d bytes, sha256 " % len('allow id 1234:5678 serial "X"\n'))


@pytest.mark.parametrize(
    "setting", [{"ImplicitPolicyTarget": "allow"}, {"PresentDevicePolicy": "allow"}, {"PresentDevicePolicy": "keep"}]
)
@pytest.mark.control("6-17.usbguard_daemon_config")
def test_daemon_settings_that_defeat_the_clause_are_refused(lab, setting):
    before = tree(lab)
    res = run(lab, daemon_settings=setting)
    key, value = next(iter(setting.items()))
    assert res.get("failed") and "%s=%s defeats clause 6-17" % (key, value) in res["msg"], res
    assert tree(lab) == before


@pytest.mark.control("6-17.device_classes")
def test_device_classes_finding_reports_every_row_and_fails_on_an_open_sd_slot(lab):
    (lab / "sys" / "class" / "mmc_host" / "mmc0").mkdir(parents=True)
    (lab / "sys" / "bus" / "thunderbolt" / "devices" / "domain0").mkdir(parents=True)
    (lab / "sys" / "bus" / "thunderbolt" / "devices" / "domain0" / "security").write_text("user\n")
    for mode in ("prohibit", "audit_only"):
        res = run(lab, check=True, mode=mode)
        f = next(f for f in res["findings"] if f["id"] == "6-17.device_classes")
        assert f["status"] == "fail" and f["evidence"]["open_classes"] == ["sd_mmc"], f
        assert len(f["observed"]) == 14
        assert f["observed"]["smartcard"]["policy"] == "allowed"
        assert f["observed"]["sd_mmc"]["evidence"] == ["mmc0"]
        assert f["observed"]["thunderbolt"] == {
            "policy": f["observed"]["thunderbolt"]["policy"],
            "mechanism": f["observed"]["thunderbolt"]["mechanism"],
            "present": True,
            "open": False,
            "evidence": {"domain0": "user"},
        }
    assert f["observed"]["mass_storage"]["policy"].startswith("allowed; reported")  # audit_only says so


@pytest.mark.control("6-17.usbguard_rules", "6-17.device_classes")
def test_smartcard_readers_are_in_the_always_allowed_rule(lab):
    res = run(lab, mode="prohibit", allow_audio=True)
    rules = (lab / "etc" / "rules.d" / "50-pii-guard.conf").read_text()
    assert "allow with-interface match-all { 03:*:* 09:00:* 0b:*:* 01:*:* }\n" in rules, res
    assert (
        subprocess.run([PARSER, "-f", str(lab / "etc" / "rules.d" / "50-pii-guard.conf")], check=False).returncode == 0
    )


BUS_DROPIN = ("modprobe.d", "pii-guard-buses.conf")
MASKS = ("systemd/user/obex.service", "systemd/user/dbus-org.bluez.obex.service")


def finding_of(result, control):
    return next(f for f in result["findings"] if f["id"] == control)


@pytest.mark.control("6-17.bus_media_blocked")
@pytest.mark.parametrize("mode", ["prohibit", "agency_issued_only"])
def test_buses_are_blocked_by_default_check_mode_first_then_idempotent(lab, mode):
    before = tree(lab)
    res = run(lab, check=True, mode=mode)
    assert tree(lab) == before  # check mode writes nothing
    f = finding_of(res, "6-17.bus_media_blocked")
    assert f["status"] == "fail" and f["evidence"]["still_open"] == ["bluetooth", "firewire", "sd_mmc", "thunderbolt"]
    headers = [d["after_header"] for d in res["diff"]]
    assert str(lab.joinpath(*BUS_DROPIN)) in headers and f"{lab}/{MASKS[0]} (masked: empty unit file)" in headers

    res = run(lab, mode=mode)
    assert res["changed"] and not res.get("failed"), res
    text = lab.joinpath(*BUS_DROPIN).read_text()
    for name in ("mmc_block", "thunderbolt", "firewire_sbp2", "firewire_ohci"):
        assert f"install {name} /bin/false\n" in text and f"blacklist {name}\n" in text
    assert oct(lab.joinpath(*BUS_DROPIN).stat().st_mode & 0o777) == "0o644"
    for m in MASKS:
        assert (lab / m).is_file() and (lab / m).stat().st_size == 0  # an empty unit file: systemd masks it
    f = finding_of(res, "6-17.bus_media_blocked")
    assert f["status"] == "fixed" and f["evidence"]["still_open"] == []
    sd = f["observed"]["sd_mmc"]
    assert sd["block"] and sd["enforced"] and sd["loaded"] == []
    assert sd["dropin_lines"] == ["install mmc_block /bin/false", "blacklist mmc_block"]
    assert sd["modprobe_dry_run"] == {"mmc_block": {"rc": 0, "output": "install /bin/false"}}
    assert f["observed"]["bluetooth"]["masks"] == {str(lab / m): "masked" for m in MASKS}
    assert "install mmc_block /bin/false; blacklist mmc_block" in f["expected"]["sd_mmc"]

    before = tree(lab)
    again = run(lab, mode=mode)
    assert again["changed"] is False and tree(lab) == before
    assert finding_of(again, "6-17.bus_media_blocked")["status"] == "pass"


@pytest.mark.control("6-17.bus_media_blocked", "6-17.device_classes")
def test_each_switch_lets_only_its_bus_in_and_audit_only_removes_every_block(lab):
    run(lab)
    res = run(lab, allow_sd_mmc=True, allow_firewire=True)
    text = lab.joinpath(*BUS_DROPIN).read_text()
    directives = [ln for ln in text.splitlines() if not ln.startswith("#")]
    assert directives == ["install thunderbolt /bin/false", "blacklist thunderbolt"]
    f = finding_of(res, "6-17.bus_media_blocked")
    assert f["status"] == "fixed" and f["evidence"]["blocked"] == ["thunderbolt", "bluetooth"]
    assert f["expected"]["sd_mmc"] == "not blocked (usb_storage_allow_sd_mmc=true)"
    # A present SD slot the switch allows is reported, not failed.
    (lab / "sys" / "class" / "mmc_host" / "mmc0").mkdir(parents=True)
    res = run(lab, allow_sd_mmc=True, allow_firewire=True)
    c = finding_of(res, "6-17.device_classes")
    assert c["status"] == "pass" and c["evidence"]["allowed_by_switch"] == ["firewire", "sd_mmc"]
    assert c["observed"]["sd_mmc"]["open"] is True

    res = run(lab, allow_sd_mmc=True, allow_firewire=True, allow_thunderbolt=True, allow_bluetooth_transfer=True)
    assert not lab.joinpath(*BUS_DROPIN).exists() and not any((lab / m).exists() for m in MASKS)
    assert finding_of(res, "6-17.bus_media_blocked")["status"] == "fixed"  # the blocks removed
    run(lab)
    res = run(lab, mode="audit_only")
    assert not lab.joinpath(*BUS_DROPIN).exists() and not any((lab / m).exists() for m in MASKS)
    assert finding_of(res, "6-17.bus_media_blocked")["status"] == "not_applicable"
    assert finding_of(res, "6-17.device_classes")["evidence"]["open_classes"] == ["sd_mmc"]  # reported


@pytest.mark.control("6-17.bus_media_blocked")
def test_a_loaded_driver_is_unloaded_and_one_that_stays_is_reported(lab):
    (lab / "sys" / "module" / "mmc_block").mkdir(parents=True)  # stays: as a busy module would
    (lab / "sys" / "module" / "firewire_ohci").mkdir(parents=True)
    res = run(lab)
    log = (lab / "bin" / "modprobe.log").read_text().splitlines()
    assert "-r mmc_block" in log and "-r firewire_ohci" in log and "-r thunderbolt" not in log
    f = finding_of(res, "6-17.bus_media_blocked")
    assert f["status"] == "fail" and f["evidence"]["still_open"] == ["firewire", "sd_mmc"]
    assert f["observed"]["sd_mmc"]["loaded"] == ["mmc_block"]
    assert f["observed"]["sd_mmc"]["unload"] == {"modules": ["mmc_block"], "rc": 0, "message": ""}
    assert f["observed"]["thunderbolt"]["enforced"] is True


@pytest.mark.control("6-17.bus_media_blocked")
def test_a_host_running_from_emmc_is_refused_before_any_change(lab):
    (lab / "sys" / "block" / "mmcblk0" / "mmcblk0p2").mkdir(parents=True)
    (lab / "proc").mkdir()
    (lab / "proc" / "mounts").write_text("/dev/mmcblk0p2 / ext4 rw 0 0\nproc /proc proc rw 0 0\n")
    (lab / "proc" / "swaps").write_text("Filename Type Size Used Priority\n")
    before = tree(lab)
    res = run(lab)
    assert res.get("failed") and "usb_storage_allow_sd_mmc" in res["msg"] and "/dev/mmcblk0p2 (/)" in res["msg"]
    assert tree(lab) == before
    res = run(lab, check=True)  # the auditors' run reports it
    f = finding_of(res, "6-17.bus_media_blocked")
    assert f["status"] == "fail" and f["observed"]["sd_mmc"]["in_use_by_host"] == ["/dev/mmcblk0p2 (/)"]
    res = run(lab, allow_sd_mmc=True)
    assert not res.get("failed") and "install mmc_block" not in lab.joinpath(*BUS_DROPIN).read_text()


@pytest.mark.control("6-17.bus_media_blocked")
def test_obex_running_obexd_is_reported_and_an_admins_own_mask_is_kept(lab):
    (lab / "systemd" / "user").mkdir(parents=True)
    os.symlink("/dev/null", lab / MASKS[0])  # masked by the admin
    (lab / "proc" / "4242").mkdir(parents=True)
    (lab / "proc" / "4242" / "comm").write_text("obexd\n")
    res = run(lab)
    f = finding_of(res, "6-17.bus_media_blocked")
    assert os.readlink(lab / MASKS[0]) == "/dev/null" and (lab / MASKS[1]).stat().st_size == 0
    assert f["status"] == "fail" and f["evidence"]["still_open"] == ["bluetooth"]
    assert f["observed"]["bluetooth"]["obexd_running"] == [4242]
    (lab / "proc" / "4242" / "comm").unlink()
    res = run(lab, allow_bluetooth_transfer=True)
    assert os.readlink(lab / MASKS[0]) == "/dev/null"  # not ours: left alone
    assert not (lab / MASKS[1]).exists()  # ours: removed
