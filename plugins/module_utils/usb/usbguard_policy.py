# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The usbguard_policy module's logic (clause 6-17): ARGUMENT_SPEC and run(module)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import os
import time

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common import hostfile
from ansible_collections.pii_guard.safeguards.plugins.module_utils.common.dates import iso_date
from ansible_collections.pii_guard.safeguards.plugins.module_utils.common.findings import compliance, finding
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb import buses as bus_policy
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb.classes import CLASSES, other_buses
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb.register import (
    RegisterError,
    jsonable,
    validate_register,
)
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb.usbguard import (
    DAEMON_DEFAULTS,
    MODPROBE_TEXT,
    RULES_FILE_NAME_RE,
    PolicyError,
    digest,
    expected_target,
    is_recording,
    listed_device_row,
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


# A connected device as the findings show it (the first five also for the ones not as the policy says).
ROW_KEYS = ("id", "serial", "name", "target", "expected", "register_label", "classes")


def foreign_summary(path):
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except (IOError, OSError) as e:
        return "(unreadable: %s)\n" % e.strerror
    return "(%d bytes, sha256 %s; content not shown)\n" % (len(data), hashlib.sha256(data).hexdigest())


def class_finding(mode, devices, buses, allowed=()):
    """6-17.device_classes: per row of the device-class matrix, what this mode does, by which
    mechanism, the connected USB devices of that class and their state, and what the non-USB
    buses show. Fails when a non-USB class that can carry files is present and open, unless its
    switch (``allowed``: bus keys) lets it in."""
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
    open_ = sorted(k for k, v in buses.items() if v["open"] and k not in allowed)
    return finding(
        "6-17.device_classes",
        "fail" if open_ else "pass",
        observed=observed,
        expected="every class that can record or transfer files blocked as the matrix says (docs/device_classes.md)",
        evidence={"open_classes": open_, "mode": mode, "allowed_by_switch": sorted(allowed)},
    )


def read(path):
    """A host file's text, None when missing; strict UTF-8: a foreign byte is never rewritten as U+FFFD."""
    return hostfile.read_text(path, errors="strict")


class Policy:
    def __init__(self, module):
        self.m = module
        self.p = module.params
        self.check = module.check_mode
        self.changed = False
        self.diff = []
        # Outside RuleFolder, because the daemon loads every file in that folder.
        self.files = hostfile.Changes(self.p["backup_dir"], check_mode=self.check, run_command=module.run_command)

    # -------------------------------------------------------------- helpers
    def write(self, path, text, mode, validate=None):
        """Atomic write through the group (validated before the rename, backed up, rolled back together)."""
        self.files.write(path, text, mode, validate=validate, dir_mode=0o700)

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

    # -------------------------------------------------------------- main: read / validate / plan / write
    def main(self):
        plan = self.validate()
        self.plan_files(plan)
        self.apply_files(plan)
        self.manage_service(plan)
        self.unload_drivers(plan)
        plan.devices = self.list_devices(plan.svc_after["active"] and (not self.check or plan.svc_before["active"]))
        return self.report(plan)

    def validate(self):
        """Every input, before anything is read or touched on the host; returns the plan."""
        p = self.p
        plan = Plan()
        plan.today = datetime.date.today()
        if p["today"]:
            plan.today = iso_date(p["today"], strict=True)
            if plan.today is None:
                self.m.fail_json(msg="today %r is not a date (YYYY-MM-DD)" % p["today"])
        try:
            plan.register = validate_register(p["devices"], plan.today, allow_model_wide=p["allow_model_wide"])
            settings = dict(DAEMON_DEFAULTS)
            settings.update(p["daemon_settings"] or {})
            plan.settings = validate_daemon_settings(settings)
        except (RegisterError, PolicyError) as e:
            self.m.fail_json(msg=str(e))
        plan.rendered, plan.skipped = select_entries(plan.register.active, p["host_groups"], p["block_optical"])
        for w in plan.register.warnings:
            self.m.warn(w)
        plan.rules = render_rules(p["mode"], plan.rendered, p["block_smartphones"], p["allow_audio"], p["allow_serial"])
        plan.switches = dict((v, p[v]) for v in bus_policy.SWITCHES.values())
        plan.blocked = bus_policy.blocked(p["mode"], plan.switches)
        return plan

    def plan_files(self, plan):
        """Read the host's files and decide what changes (the diff)."""
        p = self.p
        conf_path = p["daemon_config_path"]
        conf_before = read(conf_path)
        self.parser = self.m.get_bin_path("usbguard-rule-parser")
        self.systemctl_bin = self.m.get_bin_path("systemctl")
        plan.installed = conf_before is not None and self.parser is not None
        if not plan.installed and not self.check:
            self.m.fail_json(
                msg="usbguard is not installed on this host (%s or usbguard-rule-parser missing)" % conf_path
            )
        current = parse_conf(conf_before or "")
        settings = plan.settings
        from_input = "RuleFolder" in settings
        settings.setdefault("RuleFolder", current.get("RuleFolder") or "/etc/usbguard/rules.d/")
        rule_file = current.get("RuleFile", settings.get("RuleFile"))
        self.check_rule_sources(conf_path, settings["RuleFolder"], from_input, rule_file)
        plan.rules_path = os.path.join(settings["RuleFolder"], p["rules_file_name"])
        plan.conf_after = render_conf(conf_before or "", settings)
        try:
            if plan.installed:
                self.parser_check_lines(plan.rules)
        except PolicyError as e:
            self.m.fail_json(msg=str(e), rules=plan.rules)
        plan.foreign = self.foreign_sources(settings["RuleFolder"], rule_file)
        rules_before = read(plan.rules_path)
        mod_before = read(p["modprobe_path"])
        plan.mod_after = MODPROBE_TEXT if p["mode"] == "prohibit" else None
        plan.conf_changed = plan.installed and conf_before != plan.conf_after
        rules_mode_ok = rules_before is not None and (os.stat(plan.rules_path).st_mode & 0o777) == 0o600
        plan.rules_changed = rules_before != plan.rules or not rules_mode_ok or bool(plan.foreign)
        plan.mod_changed = mod_before != plan.mod_after
        if plan.conf_changed:
            self.add_diff(conf_path, conf_path, conf_before, plan.conf_after)
        if plan.rules_changed:
            self.add_diff(plan.rules_path, plan.rules_path, rules_before or "", plan.rules)
        for path, action in plan.foreign:
            # Never a foreign file's content in a diff (it may hold anything): its size and digest.
            self.add_diff(path, "%s (%s)" % (path, action), foreign_summary(path), "")
        if plan.mod_changed:
            self.add_diff(p["modprobe_path"], p["modprobe_path"], mod_before or "", plan.mod_after or "")
        self.plan_buses(plan)
        plan.files_changed = plan.conf_changed or plan.rules_changed or plan.mod_changed or plan.bus_changed
        self.changed = plan.files_changed

    def plan_buses(self, plan):
        """The SD/MMC, Thunderbolt, FireWire drop-in and the OBEX masks (diff, refusal on eMMC hosts)."""
        p = self.p
        path = p["bus_modprobe_path"]
        before = read(path)
        plan.bus_mod_after = bus_policy.render_modprobe(plan.blocked)
        plan.bus_mod_changed = before != plan.bus_mod_after
        if plan.bus_mod_changed:
            self.add_diff(path, path, before or "", plan.bus_mod_after or "")
        plan.masks = []  # (path, "write" | "remove")
        for mask in bus_policy.mask_paths(p["user_unit_dir"]):
            state = bus_policy.mask_state(mask)
            if "bluetooth" in plan.blocked and state != "masked":
                plan.masks.append((mask, "write"))
                self.add_diff(
                    mask, "%s (masked: empty unit file)" % mask, foreign_summary(mask) if state != "absent" else "", ""
                )
            elif "bluetooth" not in plan.blocked and bus_policy.ours(mask):
                plan.masks.append((mask, "remove"))
                self.add_diff(mask, "%s (removed: unmasked)" % mask, "(empty unit file: masked)\n", "")
        plan.bus_changed = plan.bus_mod_changed or bool(plan.masks)
        plan.mmc_in_use = bus_policy.mmc_in_use(p["sysfs_path"], p["proc_path"])
        if "sd_mmc" in plan.blocked and plan.mmc_in_use and not self.check:
            self.m.fail_json(
                msg="usb_storage_allow_sd_mmc is false but this host runs from an SD/MMC device (%s): blocking "
                "mmc_block would leave it unbootable; set usb_storage_allow_sd_mmc: true for this host (nothing "
                "was changed)" % ", ".join(plan.mmc_in_use)
            )

    def foreign_sources(self, rule_folder, rule_file):
        """(path, action) of other rule sources that would override the policy (exclusive mode)."""
        foreign = []
        if not self.p["exclusive"]:
            return foreign
        if rule_file and rule_lines(read(rule_file) or ""):
            foreign.append((rule_file, "emptied"))
        if os.path.isdir(rule_folder):
            for name in sorted(os.listdir(rule_folder)):
                path = os.path.join(rule_folder, name)
                if name != self.p["rules_file_name"] and os.path.isfile(path):
                    foreign.append((path, "removed"))
        return foreign

    def add_diff(self, before_header, after_header, before, after):
        self.diff.append(
            {"before_header": before_header, "after_header": after_header, "before": before, "after": after}
        )

    def apply_files(self, plan):
        """Write the planned files (never in check mode), each validated and backed up."""
        if not plan.files_changed or self.check:
            return
        p = self.p
        try:
            if plan.conf_changed:
                self.write(p["daemon_config_path"], plan.conf_after, 0o600)
            if plan.rules_changed:
                self.write(plan.rules_path, plan.rules, 0o600, validate=self.parser_check_file)
            for path, action in plan.foreign:
                if action == "emptied":
                    self.write(path, "", 0o600)
                else:
                    self.files.remove(path)
            if plan.mod_changed:
                if plan.mod_after is None:
                    self.files.remove(p["modprobe_path"])
                else:
                    self.write(p["modprobe_path"], plan.mod_after, 0o644)
            if plan.bus_mod_changed:
                if plan.bus_mod_after is None:
                    self.files.remove(p["bus_modprobe_path"])
                else:
                    self.write(p["bus_modprobe_path"], plan.bus_mod_after, 0o644)
            for path, action in plan.masks:
                if action == "write":
                    self.write(path, "", 0o644)
                else:
                    self.files.remove(path)
        except (PolicyError, hostfile.HostFileError, IOError, OSError) as e:
            # The daemon is not restarted on a half-written policy: every file goes back as it was.
            errors = self.files.rollback()
            self.m.fail_json(
                msg="writing the USB policy failed, files restored: %s" % e,
                backups=self.files.backups,
                rollback_errors=errors,
            )

    def manage_service(self, plan):
        """Rules are in place: enable and (re)start the daemon (only on a host with a USB bus)."""
        p = self.p
        plan.svc_before = {"enabled": False, "active": False}
        plan.svc_after = dict(plan.svc_before)
        self.has_bus = os.path.isdir(p["usb_bus_path"])
        if not (self.systemctl_bin and plan.installed):
            return
        before = plan.svc_before
        before["enabled"] = self.systemctl("is-enabled", "usbguard.service")[1] == "enabled"
        before["active"] = self.systemctl("is-active", "usbguard.service")[1] == "active"
        plan.svc_after = after = dict(before)
        if not (p["manage_service"] and self.has_bus):
            return
        if not before["enabled"]:
            self.changed = True
            if not self.check:
                self.systemctl("enable", "usbguard.service")
            after["enabled"] = True
        if not before["active"] or plan.files_changed:
            self.changed = True
            if not self.check:
                rc, _out = self.systemctl("restart", "usbguard.service")
                if rc != 0:
                    _rc, status = self.systemctl("status", "--no-pager", "usbguard.service")
                    self.m.fail_json(msg="usbguard failed to (re)start: %s" % status, backups=self.files.backups)
            after["active"] = True

    def unload_drivers(self, plan):
        """After the daemon has blocked the sticks: unload the drivers if nothing uses them
        (a busy driver stays until reboot; the drop-in stops it loading again). Reported."""
        plan.driver_unload = None
        if plan.mod_changed and plan.mod_after is not None and not self.check and self.has_bus:
            rc, out, err = self.run(["modprobe", "-r", "uas", "usb_storage"])
            plan.driver_unload = {"rc": rc, "message": (err or out).strip()}
        # The bus drivers the new drop-in blocks, when loaded: a busy one (a mounted card) stays
        # until reboot and the finding says so.
        plan.bus_unload = {}
        modprobe = self.m.get_bin_path("modprobe")
        if plan.bus_mod_changed and plan.bus_mod_after is not None and not self.check and modprobe:
            for bus in plan.blocked:
                names = bus_policy.KERNEL_MODULES.get(bus, ())
                loaded = bus_policy.loaded_modules(self.p["sysfs_path"], names)
                if loaded:
                    rc, out, err = self.run([modprobe, "-r", *loaded])
                    plan.bus_unload[bus] = {"modules": loaded, "rc": rc, "message": (err or out).strip()}

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

    # -------------------------------------------------------------- report: one small function per control
    def report(self, plan):
        mode = self.p["mode"]
        plan.out_devices = None if plan.devices is None else [self.device_row(d, plan) for d in plan.devices]
        findings = [
            self.service_finding(plan),
            self.config_finding(plan),
            self.rules_finding(plan),
            self.driver_finding(plan),
            self.smartphone_finding(plan),
            self.register_finding(plan),
            self.devices_finding(plan),
        ]
        bus_rows = self.bus_rows(plan)
        findings.append(self.bus_finding(plan, bus_rows))
        enforced = dict((b, r["enforced"]) for b, r in bus_rows.items())
        external = bus_policy.external_pci_storage(self.p["sysfs_path"])
        allowed = [b for b in bus_policy.BUSES if plan.switches[bus_policy.SWITCHES[b]]]
        findings.append(
            class_finding(
                mode,
                plan.out_devices if plan.out_devices is not None else False,
                other_buses(self.p["sysfs_path"], enforced, external),
                allowed,
            )
        )
        result = dict(
            changed=self.changed,
            rules_path=plan.rules_path,
            rules_digest=digest(plan.rules),
            rules=plan.rules,
            rendered=[e["label"] for e in plan.rendered],
            inactive=plan.inactive(),
            warnings_register=plan.register.warnings,
            daemon=dict(plan.svc_after, settings=plan.settings),
            devices=plan.out_devices or [],
            backups=self.files.backups,
            findings=findings,
        )
        if self.m._diff:
            result["diff"] = self.diff
        return result

    def fixable(self, control_id, compliant, changed, **kw):
        """compliance() with this run's check mode."""
        return compliance(control_id, compliant, changed, self.check, **kw)

    def device_row(self, d, plan):
        """The one place a connected device's row is built (evidence, result, class finding)."""
        p = self.p
        exp = expected_target(p["mode"], d, plan.rendered, p["block_smartphones"], p["allow_audio"], p["allow_serial"])
        entry = matching_entry(d, plan.rendered)
        row = dict(d, **listed_device_row(d))
        row.update(expected=exp, register_label=entry["label"] if entry else None)
        row["recording"] = is_recording(d.get("with-interface"))
        return row

    def service_finding(self, plan):
        expected = {"installed": True, "enabled": True, "active": True}
        before, installed = plan.svc_before, plan.installed
        if not self.has_bus:
            return finding(
                "6-17.usbguard_service",
                "not_applicable" if installed else "fail",
                observed={"installed": installed, "usb_bus": False, "service": plan.svc_after},
                expected=expected,
                evidence={"reason": "no USB bus (%s missing): no USB device can connect" % self.p["usb_bus_path"]},
            )
        running = before["enabled"] and before["active"]
        return self.fixable(
            "6-17.usbguard_service",
            installed and running,
            installed and not running,
            observed={"installed": installed, "before": before, "after": plan.svc_after},
            expected=expected,
        )

    def config_finding(self, plan):
        path = self.p["daemon_config_path"]
        return self.fixable(
            "6-17.usbguard_daemon_config",
            plan.installed and not plan.conf_changed,
            plan.conf_changed,
            observed={k: parse_conf(read(path) or "").get(k) for k in plan.settings},
            expected=plan.settings,
            evidence={"path": path, "digest": digest(plan.conf_after)},
        )

    def rules_finding(self, plan):
        return self.fixable(
            "6-17.usbguard_rules",
            plan.installed and not plan.rules_changed,
            plan.installed and plan.rules_changed,
            observed={"foreign_rule_sources": [f[0] for f in plan.foreign], "path": plan.rules_path},
            expected="rules for mode %s, %d register entries, mode 0600, no other rule source"
            % (self.p["mode"], len(plan.rendered)),
            evidence={"rules_digest": digest(plan.rules), "rules": rule_lines(plan.rules), "mode": self.p["mode"]},
        )

    def driver_finding(self, plan):
        mode = self.p["mode"]
        if mode != "prohibit":
            return finding(
                "6-17.storage_driver_disabled",
                "not_applicable",
                observed="mode %s" % mode,
                expected="only in prohibit mode",
            )
        return self.fixable(
            "6-17.storage_driver_disabled",
            not plan.mod_changed,
            plan.mod_changed,
            observed={"path": self.p["modprobe_path"], "unload": plan.driver_unload},
            expected="install usb-storage /bin/false; install uas /bin/false",
        )

    def bus_rows(self, plan):
        """Per bus, as the host is after this run: its drop-in lines or masks, loaded drivers,
        what ``modprobe -n -v`` would do, running obexd. ``enforced``: the block is in effect."""
        p = self.p
        sysfs = p["sysfs_path"]
        # After the run (in check mode: as the host is now).
        lines = set((read(p["bus_modprobe_path"]) or "").splitlines())
        modprobe = self.m.get_bin_path("modprobe")
        rows = {}
        for bus in bus_policy.BUSES:
            want = bus in plan.blocked
            row = {"block": want}
            if bus in bus_policy.KERNEL_MODULES:
                names = bus_policy.KERNEL_MODULES[bus]
                expected_lines = bus_policy.modprobe_lines(bus)
                row["dropin_lines"] = [ln for ln in expected_lines if ln in lines]
                row["loaded"] = bus_policy.loaded_modules(sysfs, names)
                row["modprobe_dry_run"] = dict((n, self.dry_run(modprobe, n)) for n in names) if modprobe else None
                row["enforced"] = len(row["dropin_lines"]) == len(expected_lines) and not row["loaded"]
                if bus in plan.bus_unload:
                    row["unload"] = plan.bus_unload[bus]
            else:
                masks = bus_policy.mask_paths(p["user_unit_dir"])
                row["masks"] = dict((m, bus_policy.mask_state(m)) for m in masks)
                row["obexd_installed"] = any(os.path.exists(x) for x in bus_policy.OBEXD_PATHS)
                row["obexd_running"] = bus_policy.obexd_processes(p["proc_path"])
                row["enforced"] = all(s == "masked" for s in row["masks"].values()) and not row["obexd_running"]
            if bus == "sd_mmc":
                row["in_use_by_host"] = plan.mmc_in_use
            rows[bus] = row
        return rows

    def dry_run(self, modprobe, name):
        rc, out, err = self.run([modprobe, "-n", "-v", name])
        return {"rc": rc, "output": (out + err).strip()}

    def bus_finding(self, plan, rows):
        """6-17.bus_media_blocked: SD/MMC, Thunderbolt, FireWire, Bluetooth OBEX (the rows usbguard does not see)."""
        mode = self.p["mode"]
        expected = {}
        for bus in bus_policy.BUSES:
            switch = "usb_storage_" + bus_policy.SWITCHES[bus]
            if bus not in plan.blocked:
                expected[bus] = "not blocked (%s)" % ("audit_only" if mode == "audit_only" else switch + "=true")
            elif bus in bus_policy.KERNEL_MODULES:
                expected[bus] = "%s in %s; %s not loaded" % (
                    "; ".join(bus_policy.modprobe_lines(bus)),
                    self.p["bus_modprobe_path"],
                    ", ".join(bus_policy.KERNEL_MODULES[bus]),
                )
            else:
                expected[bus] = "obex.service masked for every user (%s); no obexd running" % self.p["user_unit_dir"]
        evidence = {
            "path": self.p["bus_modprobe_path"],
            "digest": digest(plan.bus_mod_after or ""),
            "blocked": plan.blocked,
        }
        if mode == "audit_only":
            return finding(
                "6-17.bus_media_blocked", "not_applicable", observed=rows, expected=expected, evidence=evidence
            )
        # Open after this run: in check mode anything not yet in place; after an apply a driver that
        # stayed loaded (busy: a mounted card) or an obexd still running in a session.
        still_open = sorted(b for b in plan.blocked if not rows[b]["enforced"])
        evidence["still_open"] = still_open
        if self.check or still_open:
            status = "fail" if still_open or plan.bus_changed else "pass"
        else:
            status = "fixed" if plan.bus_changed else "pass"
        return finding("6-17.bus_media_blocked", status, observed=rows, expected=expected, evidence=evidence)

    def smartphone_finding(self, plan):
        mode = self.p["mode"]
        evidence = {"registered_smartphones": [e["label"] for e in plan.rendered if e.get("kind") == "smartphone"]}
        expected = "MTP/PTP blocked unless registered"
        if mode == "audit_only" or (mode == "agency_issued_only" and not self.p["block_smartphones"]):
            observed = "%s: MTP/PTP devices are not blocked" % mode
            return finding("6-17.smartphone_blocked", "fail", observed=observed, expected=expected, evidence=evidence)
        return self.fixable(
            "6-17.smartphone_blocked",
            plan.installed and not plan.rules_changed,
            plan.installed and plan.rules_changed,
            observed="no rule allows ff:ff:00 / 06:01:01 except registered devices",
            expected=expected,
            evidence=evidence,
        )

    def register_finding(self, plan):
        inactive = [{"label": e["label"], "serial": e.get("serial"), "reason": e["reason"]} for e in plan.inactive()]
        return finding(
            "6-17.device_register",
            "pass",
            observed={"active": len(plan.register.active), "rendered": [e["label"] for e in plan.rendered]},
            expected="valid register; expired/revoked entries not rendered",
            evidence={"inactive": inactive, "warnings": plan.register.warnings},
        )

    def devices_finding(self, plan):
        mode = self.p["mode"]
        if plan.out_devices is None:
            return finding(
                "6-17.connected_devices",
                "not_applicable" if self.check or not self.has_bus else "error",
                observed="no USB bus" if not self.has_bus else "usbguard daemon not reachable (list-devices)",
                expected="each connected device authorized as the policy says",
            )
        keys = ROW_KEYS[:5]
        # audit_only allows all; report what agency_issued_only would block.
        wrong = [
            dict((k, d.get(k)) for k in keys)
            for d in plan.out_devices
            if d["target"] != d["expected"] and (mode != "audit_only" or d["recording"])
        ]
        evidence = [dict((k, d.get(k)) for k in ROW_KEYS) for d in plan.out_devices]
        return finding(
            "6-17.connected_devices",
            "fail" if wrong else "pass",
            observed={"devices": len(plan.out_devices), "not_as_policy": wrong},
            expected="each connected device authorized as mode %s says" % mode,
            evidence={"devices": evidence},
        )


class Plan:
    """What validate() and plan_files() decided, read by the apply and report steps."""

    def inactive(self):
        return [jsonable(e) for e in self.register.inactive] + [jsonable(e) for e in self.skipped]


ARGUMENT_SPEC = dict(
    mode=dict(type="str", required=True, choices=["prohibit", "agency_issued_only", "audit_only"]),
    devices=dict(type="list", elements="dict", default=[]),
    host_groups=dict(type="list", elements="str", default=[]),
    allow_model_wide=dict(type="bool", default=False),
    block_smartphones=dict(type="bool", default=True),
    block_optical=dict(type="bool", default=True),
    allow_audio=dict(type="bool", default=False),
    allow_serial=dict(type="bool", default=False),
    allow_sd_mmc=dict(type="bool", default=False),
    allow_thunderbolt=dict(type="bool", default=False),
    allow_firewire=dict(type="bool", default=False),
    allow_bluetooth_transfer=dict(type="bool", default=False),
    sysfs_path=dict(type="path", default="/sys"),
    proc_path=dict(type="path", default="/proc"),
    bus_modprobe_path=dict(type="path", default="/etc/modprobe.d/pii-guard-buses.conf"),
    user_unit_dir=dict(type="path", default="/etc/systemd/user"),
    today=dict(type="str"),
    daemon_settings=dict(type="dict", default={}),
    daemon_config_path=dict(type="path", default="/etc/usbguard/usbguard-daemon.conf"),
    rules_file_name=dict(type="str", default="50-pii-guard.conf"),
    exclusive=dict(type="bool", default=True),
    modprobe_path=dict(type="path", default="/etc/modprobe.d/pii-guard-usb-storage.conf"),
    backup_dir=dict(type="path", default=hostfile.backup_dir("usbguard")),
    manage_service=dict(type="bool", default=True),
    usb_bus_path=dict(type="path", default="/sys/bus/usb/devices"),
)


def run(module):
    if not RULES_FILE_NAME_RE.fullmatch(module.params["rules_file_name"]):
        module.fail_json(
            msg="rules_file_name %r must be a plain file name (letters, digits, '_.-')"
            % module.params["rules_file_name"]
        )
    module.exit_json(**Policy(module).main())
