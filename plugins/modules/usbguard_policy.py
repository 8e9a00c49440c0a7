#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: usbguard_policy
short_description: Enforce the clause 6-17 USB policy with USBGuard and the kernel
version_added: "1.0.0"
description:
  - Builds USBGuard rules from the policy mode and the register of agency-issued devices,
    validates them with usbguard's own parser (C(usbguard-rule-parser)), and writes them
    atomically with mode 0600 to a file in the daemon's C(RuleFolder), keeping a backup.
  - Sets the daemon configuration keys the clause needs (C(ImplicitPolicyTarget=block),
    C(PresentDevicePolicy=apply-policy), IPC restricted, C(AuditBackend=LinuxAudit)).
  - Keyboards, mice, hubs and smartcard readers (interface classes 03, 09 and 0b) are always allowed; a device is
    judged by all its interfaces (C(with-interface match-all)). The device-class matrix is docs/device_classes.md.
  - Rules and configuration are in place before the daemon is (re)started.
  - In C(prohibit) mode also writes a modprobe.d drop-in (C(install usb-storage /bin/false),
    C(install uas /bin/false)) so storage stays impossible even if the daemon is stopped.
  - Revoked and expired register entries are never rendered; they are reported.
  - Returns findings in the collection's common shape with evidence (rules digest, daemon
    state, connected devices and whether each is authorized as the policy says).
author: pii_guard.safeguards contributors (@pii-guard)
options:
  mode:
    description:
      - C(prohibit) allows only keyboards, mice and hubs.
      - C(agency_issued_only) additionally allows the active register entries.
      - C(audit_only) renders the same rules plus a final catch-all C(allow) (nothing is blocked,
        the daemon still audits) and reports which connected devices would be blocked.
    type: str
    required: true
    choices: [prohibit, agency_issued_only, audit_only]
  devices:
    description: The register of agency-issued devices (see the usb_storage role's C(usb_storage_devices)).
    type: list
    elements: dict
    default: []
  host_groups:
    description: Inventory groups of this host; register entries with C(groups) apply only to hosts in them.
    type: list
    elements: str
    default: []
  allow_model_wide:
    description: Accept register entries without serial or hash (they allow every device of that VID:PID).
    type: bool
    default: false
  block_smartphones:
    description:
      - Block smartphones (MTP C(ff:ff:00), PTP/MTP C(06:01:01)) unless they are in the register.
      - When false, devices whose interfaces are all MTP/PTP are allowed in C(agency_issued_only) mode.
    type: bool
    default: true
  block_optical:
    description: Block optical drives even when registered (register entries of C(kind=optical) are not rendered).
    type: bool
    default: true
  allow_audio:
    description:
      - Allow USB audio devices (interface class 01) in every mode, like keyboards.
      - Every interface of the device must be of an allowed class (a headset with storage stays blocked).
    type: bool
    default: false
  allow_serial:
    description:
      - Allow CDC-ACM serial adapters (interfaces 02:02 and 0a) in every mode.
      - Vendor-specific serial chips (interface ff) stay blocked.
    type: bool
    default: false
  sysfs_path:
    description:
      - Root of sysfs, read for the non-USB rows of the device-class matrix (SD/MMC, Thunderbolt, FireWire, Bluetooth).
    type: path
    default: /sys
  today:
    description: Date (YYYY-MM-DD) used to decide expiry; defaults to the host's current date.
    type: str
  daemon_settings:
    description:
      - usbguard-daemon.conf keys to set, merged over the clause defaults.
      - Values that let in devices no rule allows (C(ImplicitPolicyTarget=allow), C(PresentDevicePolicy=allow)
        or C(keep)) are refused.
    type: dict
    default: {}
  daemon_config_path:
    description:
      - Path of usbguard-daemon.conf.
      - The daemon's C(RuleFolder) (and C(RuleFile) with O(exclusive)) must lie strictly inside this file's
        directory (symlinks resolved), else the module fails before any change; a folder such as C(/etc) or
        the usbguard directory itself would lose its other files. Their content never appears in a diff.
    type: path
    default: /etc/usbguard/usbguard-daemon.conf
  rules_file_name:
    description: Name of the managed rules file inside the daemon's C(RuleFolder).
    type: str
    default: 50-pii-guard.conf
  exclusive:
    description:
      - Make the managed file the only rule source, emptying C(RuleFile) and removing other files in
        C(RuleFolder) (each backed up first). Without this, foreign allow rules could override the policy.
    type: bool
    default: true
  modprobe_path:
    description: The modprobe.d drop-in written in C(prohibit) mode (removed in the other modes).
    type: path
    default: /etc/modprobe.d/pii-guard-usb-storage.conf
  backup_dir:
    description:
      - Where previous versions of changed files are kept.
      - Outside C(RuleFolder), because the daemon loads every file in that folder.
    type: path
    default: /var/backups/pii-guard/usbguard
  manage_service:
    description:
      - Enable and start usbguard, and restart it when rules or configuration changed.
      - On a host without a USB bus (no O(usb_bus_path), e.g. a container) the daemon cannot run
        (it exits when it cannot read the bus); the service is left alone and reported C(not_applicable).
    type: bool
    default: true
  usb_bus_path:
    description: The sysfs directory of USB devices whose presence tells that the host has a USB bus.
    type: path
    default: /sys/bus/usb/devices
notes:
  - Supports check mode (nothing is written, the parser is fed the rules on its command line) and diff mode.
requirements:
  - usbguard (with C(usbguard-rule-parser)) and systemd on the target.
"""

EXAMPLES = r"""
- name: Allow only agency-issued USB devices
  pii_guard.safeguards.usbguard_policy:
    mode: agency_issued_only
    devices:
      - id: "46f4:0001"
        serial: AGENCY0001
        label: PC-USB-0001
        owner: tanaka
        issued_on: "2026-04-01"
        expires_on: "2027-03-31"
    host_groups: "{{ group_names }}"
    daemon_settings:
      IPCAllowedGroups: root sudo
  register: usb_policy

- name: Refuse every recording device
  pii_guard.safeguards.usbguard_policy:
    mode: prohibit
"""

RETURN = r"""
rules_path:
  description: The managed rules file.
  returned: always
  type: str
  sample: /etc/usbguard/rules.d/50-pii-guard.conf
rules_digest:
  description: SHA-256 of the rendered rules.
  returned: always
  type: str
rules:
  description: The rendered rules text.
  returned: always
  type: str
rendered:
  description: Labels of the register entries rendered as allow rules on this host.
  returned: always
  type: list
  elements: str
inactive:
  description: Register entries never rendered, each with C(reason) expired, revoked, or why it does not apply here.
  returned: always
  type: list
  elements: dict
warnings_register:
  description: Register warnings (model-wide entries).
  returned: always
  type: list
  elements: str
daemon:
  description: usbguard service state after the run (C(enabled), C(active)) and the config keys set.
  returned: always
  type: dict
devices:
  description:
    - Connected USB devices as usbguard lists them.
    - Each has C(expected) (allow/block per the policy) and C(register_label).
  returned: always
  type: list
  elements: dict
backups:
  description: Backup copies written this run.
  returned: always
  type: list
  elements: str
findings:
  description: Findings in the common shape C({id, clause, status, observed, expected, evidence}).
  returned: always
  type: list
  elements: dict
"""

import datetime
import hashlib
import os
import shutil
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pii_guard.safeguards.plugins.module_utils.findings import compliance, finding
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb_classes import CLASSES, other_buses, usb_classes
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb_register import (
    RegisterError,
    jsonable,
    validate_register,
)
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usbguard import (
    DAEMON_DEFAULTS,
    MODPROBE_TEXT,
    PolicyError,
    digest,
    expected_target,
    is_recording,
    matching_entry,
    outside,
    parse_conf,
    parse_list_devices,
    render_conf,
    render_rules,
    rule_lines,
    select_entries,
    validate_daemon_settings,
)


def foreign_summary(path):
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except (IOError, OSError) as e:
        return "(unreadable: %s)\n" % e.strerror
    return "(%d bytes, sha256 %s; content not shown)\n" % (len(data), hashlib.sha256(data).hexdigest())


def class_finding(mode, devices, buses):
    """6-17.device_classes: per row of the device-class matrix, what this mode does, by which
    mechanism, the connected USB devices of that class and their state, and what the non-USB
    buses show. Fails when a non-USB class that can carry files is present and open."""
    observed = {}
    for c in CLASSES:
        row = {"policy": c[mode], "mechanism": c["mechanism"]}
        if c.get("patterns") and devices is not False:
            row["devices"] = [
                {"id": d.get("id"), "serial": d.get("serial"), "target": d["target"], "expected": d["expected"]}
                for d in devices
                if c["key"] in d["classes"]
            ]
        if c["key"] in buses:
            row.update(buses[c["key"]])
        observed[c["key"]] = row
    open_ = sorted(k for k, v in buses.items() if v["open"])
    return finding(
        "6-17.device_classes",
        "fail" if open_ else "pass",
        observed=observed,
        expected="every class that can record or transfer files blocked as the matrix says (docs/device_classes.md)",
        evidence={"open_classes": open_, "mode": mode},
    )


def read(path):
    try:
        with open(path, "r") as fh:
            return fh.read()
    except (IOError, OSError):
        return None


class Policy:
    def __init__(self, module):
        self.m = module
        self.p = module.params
        self.check = module.check_mode
        self.changed = False
        self.diff = []
        self.backups = []
        self.stamp = time.strftime("%Y%m%dT%H%M%S")

    # -------------------------------------------------------------- helpers
    def backup(self, path):
        if not os.path.exists(path):
            return
        os.makedirs(self.p["backup_dir"], mode=0o700, exist_ok=True)
        dest = os.path.join(self.p["backup_dir"], "%s.%s" % (os.path.basename(path), self.stamp))
        shutil.copy2(path, dest)
        os.chmod(dest, 0o600)
        self.backups.append(dest)

    def write(self, path, text, mode, validate=None):
        """Atomic write: temp file in the same directory, validate, backup, rename."""
        directory = os.path.dirname(path)
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".pii-guard-", dir=directory)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
            os.chmod(tmp, mode)
            if validate:
                validate(tmp)
            self.backup(path)
            os.rename(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def run(self, args, check_rc=False):
        return self.m.run_command(args, check_rc=check_rc)

    def systemctl(self, *args):
        rc, out, _err = self.run([self.systemctl_bin, *args])
        return rc, out.strip()

    # -------------------------------------------------------------- validation
    def parser_check_file(self, path):
        rc, out, err = self.run([self.parser, "-f", path])
        if rc != 0:
            raise PolicyError("usbguard-rule-parser refused the rendered rules: %s" % (err or out).strip())

    def parser_check_lines(self, text):
        for line in rule_lines(text):
            rc, out, err = self.run([self.parser, line])
            if rc != 0:
                raise PolicyError("usbguard-rule-parser refused %r: %s" % (line, (err or out).strip()))

    def check_rule_sources(self, conf_path, rule_folder, from_input, rule_file):
        """Refuse rule sources outside the usbguard directory, before anything is planned.

        The policy writes into RuleFolder and (exclusive) removes every other file there and
        empties RuleFile: pointed at /etc or /etc/usbguard itself that deletes the host's files.
        """
        root = os.path.dirname(conf_path)
        why = outside(root, rule_folder)
        if why:
            source = "usb_storage_daemon_settings" if from_input else conf_path
            self.m.fail_json(
                msg="RuleFolder %s (from %s) %s: the policy writes there and removes every other file in it; "
                "set RuleFolder to a directory of its own, e.g. %s/rules.d/" % (rule_folder, source, why, root)
            )
        why = outside(root, rule_file) if rule_file and self.p["exclusive"] else None
        if why:
            self.m.fail_json(
                msg="RuleFile %s (from %s) %s: exclusive mode empties it; point RuleFile at %s/rules.conf"
                % (rule_file, conf_path, why, root)
            )

    # -------------------------------------------------------------- main
    def main(self):
        p = self.p
        today = datetime.date.today()
        if p["today"]:
            try:
                today = datetime.datetime.strptime(p["today"], "%Y-%m-%d").date()
            except ValueError:
                self.m.fail_json(msg="today %r is not a date (YYYY-MM-DD)" % p["today"])
        # Everything is validated before anything is touched.
        try:
            register = validate_register(p["devices"], today, allow_model_wide=p["allow_model_wide"])
            settings = dict(DAEMON_DEFAULTS)
            settings.update(p["daemon_settings"] or {})
            settings = validate_daemon_settings(settings)
        except (RegisterError, PolicyError) as e:
            self.m.fail_json(msg=str(e))
        rendered, skipped = select_entries(register.active, p["host_groups"], p["block_optical"])
        for w in register.warnings:
            self.m.warn(w)
        rules = render_rules(p["mode"], rendered, p["block_smartphones"], p["allow_audio"], p["allow_serial"])

        conf_path = p["daemon_config_path"]
        conf_before = read(conf_path)
        self.parser = self.m.get_bin_path("usbguard-rule-parser")
        self.systemctl_bin = self.m.get_bin_path("systemctl")
        installed = conf_before is not None and self.parser is not None
        if not installed and not self.check:
            self.m.fail_json(
                msg="usbguard is not installed on this host (%s or usbguard-rule-parser missing)" % conf_path
            )
        current = parse_conf(conf_before or "")
        from_input = "RuleFolder" in settings
        settings.setdefault("RuleFolder", current.get("RuleFolder") or "/etc/usbguard/rules.d/")
        rule_folder = settings["RuleFolder"]
        rule_file = current.get("RuleFile", settings.get("RuleFile"))
        self.check_rule_sources(conf_path, rule_folder, from_input, rule_file)
        rules_path = os.path.join(rule_folder, p["rules_file_name"])
        conf_after = render_conf(conf_before or "", settings)

        try:
            if installed:
                self.parser_check_lines(rules)
        except PolicyError as e:
            self.m.fail_json(msg=str(e), rules=rules)

        # ---- plan
        rules_before = read(rules_path)
        foreign = []  # (path, action) other rule sources that would override the policy
        if p["exclusive"]:
            if rule_file and rule_lines(read(rule_file) or ""):
                foreign.append((rule_file, "emptied"))
            if os.path.isdir(rule_folder):
                for name in sorted(os.listdir(rule_folder)):
                    path = os.path.join(rule_folder, name)
                    if name != p["rules_file_name"] and os.path.isfile(path):
                        foreign.append((path, "removed"))
        mod_before = read(p["modprobe_path"])
        mod_after = MODPROBE_TEXT if p["mode"] == "prohibit" else None
        conf_changed = installed and conf_before != conf_after
        rules_mode_ok = rules_before is not None and (os.stat(rules_path).st_mode & 0o777) == 0o600
        rules_changed = rules_before != rules or not rules_mode_ok or bool(foreign)
        mod_changed = mod_before != mod_after
        if conf_changed:
            self.diff.append(
                {"before_header": conf_path, "after_header": conf_path, "before": conf_before, "after": conf_after}
            )
        if rules_changed:
            self.diff.append(
                {"before_header": rules_path, "after_header": rules_path, "before": rules_before or "", "after": rules}
            )
        for path, action in foreign:
            # Never a foreign file's content in a diff (it may hold anything): its size and digest.
            self.diff.append(
                {
                    "before_header": path,
                    "after_header": "%s (%s)" % (path, action),
                    "before": foreign_summary(path),
                    "after": "",
                }
            )
        if mod_changed:
            self.diff.append(
                {
                    "before_header": p["modprobe_path"],
                    "after_header": p["modprobe_path"],
                    "before": mod_before or "",
                    "after": mod_after or "",
                }
            )
        files_changed = conf_changed or rules_changed or mod_changed
        self.changed = files_changed

        # ---- apply (never in check mode)
        driver_unload = None
        if files_changed and not self.check:
            try:
                if conf_changed:
                    self.write(conf_path, conf_after, 0o600)
                if rules_changed:
                    self.write(rules_path, rules, 0o600, validate=self.parser_check_file)
                for path, action in foreign:
                    if action == "emptied":
                        self.write(path, "", 0o600)
                    else:
                        self.backup(path)
                        os.unlink(path)
                if mod_changed:
                    if mod_after is None:
                        self.backup(p["modprobe_path"])
                        os.unlink(p["modprobe_path"])
                    else:
                        self.write(p["modprobe_path"], mod_after, 0o644)
            except (PolicyError, IOError, OSError) as e:
                self.m.fail_json(msg="writing the USB policy failed: %s" % e, backups=self.backups)

        # ---- service: rules are in place, now (re)start
        svc_before = {"enabled": False, "active": False}
        svc_after = dict(svc_before)
        self.has_bus = os.path.isdir(p["usb_bus_path"])
        if self.systemctl_bin and installed:
            svc_before["enabled"] = self.systemctl("is-enabled", "usbguard.service")[1] == "enabled"
            svc_before["active"] = self.systemctl("is-active", "usbguard.service")[1] == "active"
            svc_after = dict(svc_before)
            if p["manage_service"] and self.has_bus:
                if not svc_before["enabled"]:
                    self.changed = True
                    if not self.check:
                        self.systemctl("enable", "usbguard.service")
                    svc_after["enabled"] = True
                if not svc_before["active"] or files_changed:
                    self.changed = True
                    if not self.check:
                        rc, _out = self.systemctl("restart", "usbguard.service")
                        if rc != 0:
                            _rc, status = self.systemctl("status", "--no-pager", "usbguard.service")
                            self.m.fail_json(msg="usbguard failed to (re)start: %s" % status, backups=self.backups)
                    svc_after["active"] = True

        if mod_changed and mod_after is not None and not self.check and self.has_bus:
            # After the daemon has blocked the sticks: unload the drivers if nothing uses them
            # (a busy driver stays until reboot; the drop-in stops it loading again). Reported.
            rc, out, err = self.run(["modprobe", "-r", "uas", "usb_storage"])
            driver_unload = {"rc": rc, "message": (err or out).strip()}

        devices = self.list_devices(svc_after["active"] and (not self.check or svc_before["active"]))
        return self.report(
            register, rendered, skipped, rules, rules_path, rules_changed, foreign, conf_after, conf_changed,
            settings, mod_changed, driver_unload, svc_before, svc_after, devices, installed,
        )  # fmt: skip

    def list_devices(self, active):
        if not active:
            return None
        usbguard = self.m.get_bin_path("usbguard")
        if not usbguard:
            return None
        # The IPC socket takes a moment after a restart.
        for _attempt in range(20):
            rc, out, _err = self.run([usbguard, "list-devices"])
            if rc == 0:
                return parse_list_devices(out)
            time.sleep(0.5)
        return None

    def report(
        self, register, rendered, skipped, rules, rules_path, rules_changed, foreign, conf_after, conf_changed,
        settings, mod_changed, driver_unload, svc_before, svc_after, devices, installed,
    ):  # fmt: skip
        p = self.p
        mode = p["mode"]
        chk = self.check
        inactive = [jsonable(e) for e in register.inactive] + [jsonable(e) for e in skipped]
        svc_expected = {"installed": True, "enabled": True, "active": True}
        if not self.has_bus:
            svc_finding = finding(
                "6-17.usbguard_service",
                "not_applicable" if installed else "fail",
                observed={"installed": installed, "usb_bus": False, "service": svc_after},
                expected=svc_expected,
                evidence={"reason": "no USB bus (%s missing): no USB device can connect" % p["usb_bus_path"]},
            )
        else:
            svc_finding = compliance(
                "6-17.usbguard_service",
                installed and svc_before["enabled"] and svc_before["active"],
                installed and not (svc_before["enabled"] and svc_before["active"]),
                chk,
                observed={"installed": installed, "before": svc_before, "after": svc_after},
                expected=svc_expected,
            )
        findings = [
            svc_finding,
            compliance(
                "6-17.usbguard_daemon_config",
                installed and not conf_changed,
                conf_changed,
                chk,
                observed={k: parse_conf(read(p["daemon_config_path"]) or "").get(k) for k in settings},
                expected=settings,
                evidence={"path": p["daemon_config_path"], "digest": digest(conf_after)},
            ),
            compliance(
                "6-17.usbguard_rules",
                installed and not rules_changed,
                installed and rules_changed,
                chk,
                observed={"foreign_rule_sources": [f[0] for f in foreign], "path": rules_path},
                expected="rules for mode %s, %d register entries, mode 0600, no other rule source"
                % (mode, len(rendered)),
                evidence={"rules_digest": digest(rules), "rules": rule_lines(rules), "mode": mode},
            ),
        ]
        if mode == "prohibit":
            findings.append(
                compliance(
                    "6-17.storage_driver_disabled",
                    not mod_changed,
                    mod_changed,
                    chk,
                    observed={"path": p["modprobe_path"], "unload": driver_unload},
                    expected="install usb-storage /bin/false; install uas /bin/false",
                )
            )
        else:
            findings.append(
                finding(
                    "6-17.storage_driver_disabled",
                    "not_applicable",
                    observed="mode %s" % mode,
                    expected="only in prohibit mode",
                )
            )
        phones = [e["label"] for e in rendered if e.get("kind") == "smartphone"]
        if mode == "audit_only" or (mode == "agency_issued_only" and not p["block_smartphones"]):
            findings.append(
                finding(
                    "6-17.smartphone_blocked",
                    "fail",
                    observed="%s: MTP/PTP devices are not blocked" % mode,
                    expected="MTP/PTP blocked unless registered",
                    evidence={"registered_smartphones": phones},
                )
            )
        else:
            findings.append(
                compliance(
                    "6-17.smartphone_blocked",
                    installed and not rules_changed,
                    installed and rules_changed,
                    chk,
                    observed="no rule allows ff:ff:00 / 06:01:01 except registered devices",
                    expected="MTP/PTP blocked unless registered",
                    evidence={"registered_smartphones": phones},
                )
            )
        findings.append(
            finding(
                "6-17.device_register",
                "pass",
                observed={"active": len(register.active), "rendered": [e["label"] for e in rendered]},
                expected="valid register; expired/revoked entries not rendered",
                evidence={
                    "inactive": [
                        {"label": e["label"], "serial": e.get("serial"), "reason": e["reason"]} for e in inactive
                    ],
                    "warnings": register.warnings,
                },
            )
        )
        out_devices = []
        if devices is None:
            findings.append(
                finding(
                    "6-17.connected_devices",
                    "not_applicable" if chk or not self.has_bus else "error",
                    observed="no USB bus" if not self.has_bus else "usbguard daemon not reachable (list-devices)",
                    expected="each connected device authorized as the policy says",
                )
            )
        else:
            wrong = []
            for d in devices:
                exp = expected_target(
                    mode, d, rendered, p["block_smartphones"], p["allow_audio"], p["allow_serial"]
                )  # fmt: skip
                entry = matching_entry(d, rendered)
                d = dict(d, expected=exp, register_label=entry["label"] if entry else None)
                d["recording"] = is_recording(d.get("with-interface"))
                d["classes"] = usb_classes(d.get("with-interface"))
                out_devices.append(d)
                # audit_only allows all; report what agency_issued_only would block.
                if d["target"] != exp and (mode != "audit_only" or d["recording"]):
                    wrong.append({"id": d.get("id"), "serial": d.get("serial"), "name": d.get("name"),
                                  "target": d["target"], "expected": exp})  # fmt: skip
            findings.append(
                finding(
                    "6-17.connected_devices",
                    "fail" if wrong else "pass",
                    observed={"devices": len(devices), "not_as_policy": wrong},
                    expected="each connected device authorized as mode %s says" % mode,
                    evidence={
                        "devices": [
                            {
                                "id": d.get("id"),
                                "serial": d.get("serial"),
                                "name": d.get("name"),
                                "target": d["target"],
                                "expected": d["expected"],
                                "register_label": d["register_label"],
                                "classes": d["classes"],
                            }
                            for d in out_devices
                        ]
                    },
                )
            )
        findings.append(class_finding(mode, devices is not None and out_devices, other_buses(p["sysfs_path"])))
        result = dict(
            changed=self.changed,
            rules_path=rules_path,
            rules_digest=digest(rules),
            rules=rules,
            rendered=[e["label"] for e in rendered],
            inactive=inactive,
            warnings_register=register.warnings,
            daemon=dict(svc_after, settings=settings),
            devices=out_devices,
            backups=self.backups,
            findings=findings,
        )
        if self.m._diff:
            result["diff"] = self.diff
        return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            mode=dict(type="str", required=True, choices=["prohibit", "agency_issued_only", "audit_only"]),
            devices=dict(type="list", elements="dict", default=[]),
            host_groups=dict(type="list", elements="str", default=[]),
            allow_model_wide=dict(type="bool", default=False),
            block_smartphones=dict(type="bool", default=True),
            block_optical=dict(type="bool", default=True),
            allow_audio=dict(type="bool", default=False),
            allow_serial=dict(type="bool", default=False),
            sysfs_path=dict(type="path", default="/sys"),
            today=dict(type="str"),
            daemon_settings=dict(type="dict", default={}),
            daemon_config_path=dict(type="path", default="/etc/usbguard/usbguard-daemon.conf"),
            rules_file_name=dict(type="str", default="50-pii-guard.conf"),
            exclusive=dict(type="bool", default=True),
            modprobe_path=dict(type="path", default="/etc/modprobe.d/pii-guard-usb-storage.conf"),
            backup_dir=dict(type="path", default="/var/backups/pii-guard/usbguard"),
            manage_service=dict(type="bool", default=True),
            usb_bus_path=dict(type="path", default="/sys/bus/usb/devices"),
        ),
        supports_check_mode=True,
    )
    if "/" in module.params["rules_file_name"]:
        module.fail_json(msg="rules_file_name %r must be a file name" % module.params["rules_file_name"])
    module.exit_json(**Policy(module).main())


if __name__ == "__main__":
    main()
