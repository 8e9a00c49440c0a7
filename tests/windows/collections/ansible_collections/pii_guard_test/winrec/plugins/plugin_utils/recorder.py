# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only recorder standing in for ansible.windows / community.windows modules.

There is no Windows host here. This collections path shadows ansible.windows and
community.windows with action plugins that, instead of running PowerShell on a host:

1. validate the task's arguments against the REAL module's DOCUMENTATION, read from the
   installed collection in the venv (unknown options, wrong types, bad choices fail the task);
2. honour the real module's check-mode support (read from its .ps1), and win_powershell's
   rule that a script runs in check mode only with [CmdletBinding(SupportsShouldProcess)];
3. append ``{module, args, check_mode, changed}`` to the JSON-lines file ``$WINREC_LOG``;
4. read and update a small fake Windows state in ``$WINREC_STATE`` (registry, audit policy,
   accounts, the Administrators group under its localised name, security policy), so that a
   second run sees the first run's writes (idempotence) and check mode writes nothing.

It never opens a connection.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import re

import ansible
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.parsing.plugin_docs import read_docstring
from ansible.plugins.action import ActionBase

REAL_COLLECTIONS = os.path.normpath(os.path.join(os.path.dirname(ansible.__file__), "..", "ansible_collections"))
_DOC_CACHE = {}


def real_module_files(fqcn):
    ns, coll, name = fqcn.split(".")
    base = os.path.join(REAL_COLLECTIONS, ns, coll, "plugins", "modules", name)
    return base + ".py", base + ".ps1"


def argspec_from_doc(options):
    spec = {}
    for name, o in (options or {}).items():
        s = {"type": o.get("type", "str")}
        for k in ("required", "default", "choices", "aliases", "elements", "no_log"):
            if k in o:
                s[k] = o[k]
        if o.get("suboptions"):
            s["options"] = argspec_from_doc(o["suboptions"])
        spec[name] = s
    return spec


def _version(text):
    return tuple(int(x) for x in re.findall(r"[0-9]+", str(text))[:3])


def declared_floor(ns, coll):
    """The minimum version of ``ns.coll`` that this project declares in galaxy.yml (and requirements.yml)."""
    import yaml

    root = os.environ.get("WINREC_PROJECT") or os.path.normpath(os.path.join(os.path.dirname(__file__), *[".."] * 8))
    floors = []
    with open(os.path.join(root, "galaxy.yml"), encoding="utf-8") as fh:
        spec = (yaml.safe_load(fh).get("dependencies") or {}).get("%s.%s" % (ns, coll))
    with open(os.path.join(root, "requirements.yml"), encoding="utf-8") as fh:
        for c in yaml.safe_load(fh).get("collections") or []:
            if c.get("name") == "%s.%s" % (ns, coll):
                floors.append(c.get("version"))
    floors.append(spec)
    out = set()
    for f in floors:
        m = re.match(r"^\s*>=\s*([0-9][0-9.]*)\s*$", str(f or ""))
        if not m:
            raise AssertionError("%s.%s: declared version %r is not '>=X.Y.Z'" % (ns, coll, f))
        out.add(_version(m.group(1)))
    if len(out) != 1:
        raise AssertionError("%s.%s: galaxy.yml and requirements.yml declare different floors %r" % (ns, coll, out))
    return out.pop()


def module_added_in(ns, coll, name, doc):
    """Version of ``ns.coll`` that first shipped module ``name``: its doc's version_added, else
    the collection changelog's ``modules`` entries; None when it was there from the start."""
    import yaml

    if doc.get("version_added") and doc.get("version_added") != "historical":
        return _version(doc["version_added"])
    path = os.path.join(REAL_COLLECTIONS, ns, coll, "changelogs", "changelog.yaml")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            releases = yaml.safe_load(fh).get("releases") or {}
        for version in sorted(releases, key=_version):
            if any(m.get("name") == name for m in releases[version].get("modules") or []):
                return _version(version)
    return None


def _options_after(options, floor, prefix=""):
    late = {}
    for name, o in (options or {}).items():
        va = o.get("version_added")
        if va and va != "historical" and _version(va) > floor:
            late[prefix + name] = va
        late.update(_options_after(o.get("suboptions"), floor, prefix + name + "."))
    return late


def real_module(fqcn):
    """(argument spec, supports check mode, options newer than the floor) of the real module.

    Fails when the module itself is newer than the floor version this project declares for its
    collection: the recorder checks the floor version's module set, not only the installed one.
    """
    if fqcn not in _DOC_CACHE:
        py, ps1 = real_module_files(fqcn)
        doc = read_docstring(py, ignore_errors=False)["doc"]
        if os.path.exists(ps1):
            with open(ps1, encoding="utf-8") as fh:
                text = fh.read()
            check = bool(re.search(r"supports_check_mode\s*=?\s*\$true|_ansible_check_mode", text, re.IGNORECASE))
        else:
            # An action-plugin module (win_reboot): its action plugin handles check mode.
            check = True
        ns, coll, name = fqcn.split(".")
        floor = declared_floor(ns, coll)
        added = module_added_in(ns, coll, name, doc)
        if added is not None and added > floor:
            raise AssertionError(
                "%s first appeared in %s.%s %s, but the declared floor is %s"
                % (fqcn, ns, coll, ".".join(map(str, added)), ".".join(map(str, floor)))
            )
        _DOC_CACHE[fqcn] = (argspec_from_doc(doc.get("options")), check, _options_after(doc.get("options"), floor))
    return _DOC_CACHE[fqcn]


# ------------------------------------------------------------------------ fake host state


def _load_state():
    with open(os.environ["WINREC_STATE"], encoding="utf-8") as fh:
        return json.load(fh)


def _save_state(state):
    path = os.environ["WINREC_STATE"]
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        json.dump(state, fh, indent=1, sort_keys=True)
    os.replace(path + ".tmp", path)


def _log(entry):
    with open(os.environ["WINREC_LOG"], "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, sort_keys=True) + "\n")


def norm_key(path):
    """'HKLM:\\SOFTWARE\\x' and 'HKLM\\software\\x' are the same key (registry is case-insensitive)."""
    p = path.replace("/", "\\").rstrip("\\")
    hive, _, rest = p.partition("\\")
    return (hive.rstrip(":").upper() + ("\\" + rest if rest else "")).lower()


REG_NAMES = {
    "dword": "REG_DWORD",
    "qword": "REG_QWORD",
    "string": "REG_SZ",
    "expandstring": "REG_EXPAND_SZ",
    "multistring": "REG_MULTI_SZ",
}


def _convert(data, vtype):
    if vtype in ("dword", "qword"):
        if isinstance(data, str):
            return int(data, 16) if data.lower().startswith("0x") else int(data)
        return int(data)
    if vtype == "multistring":
        return list(data or [])
    return "" if data is None else str(data)


class FakeWindows:
    """The semantics of each module on the fake state (only what the roles use)."""

    def __init__(self, state):
        self.s = state
        self.reg = state.setdefault("registry", {})

    # -- registry
    def _find_value(self, key, name):
        for n, v in key["values"].items():
            if n.lower() == (name or "").lower():
                return n, v
        return None, None

    def win_reg_stat(self, args, check):
        k = self.reg.get(norm_key(args["path"]))
        if k is None:
            return {"changed": False, "exists": False}
        if args.get("name") is not None:
            _n, v = self._find_value(k, args["name"])
            if v is None:
                return {"changed": False, "exists": False}
            return {"changed": False, "exists": True, "type": v["type"], "value": v["value"], "raw_value": v["value"]}
        prefix = norm_key(args["path"]) + "\\"
        subs = sorted(
            self.reg[p]["path"].split("\\")[-1]
            for p in self.reg
            if p.startswith(prefix) and "\\" not in p[len(prefix) :]
        )
        props = dict(
            (n, {"type": v["type"], "value": v["value"], "raw_value": v["value"]}) for n, v in k["values"].items()
        )
        return {"changed": False, "exists": True, "properties": props, "sub_keys": subs}

    def _ensure_key(self, path):
        parts = path.replace("/", "\\").rstrip("\\").split("\\")
        for i in range(1, len(parts) + 1):
            p = "\\".join(parts[:i])
            self.reg.setdefault(norm_key(p), {"path": p, "values": {}})
        return self.reg[norm_key(path)]

    def win_regedit(self, args, check):
        key_id = norm_key(args["path"])
        key = self.reg.get(key_id)
        if args["state"] == "absent":
            if args.get("name") is None:
                if key is None or not args.get("delete_key", True):
                    return {"changed": False}
                if not check:
                    for p in [p for p in self.reg if p == key_id or p.startswith(key_id + "\\")]:
                        del self.reg[p]
                return {"changed": True}
            n, v = (None, None) if key is None else self._find_value(key, args["name"])
            if v is None:
                return {"changed": False}
            if not check:
                del key["values"][n]
            return {"changed": True, "data_changed": True}
        vtype = args.get("type") or "string"
        want = {"type": REG_NAMES[vtype], "value": _convert(args.get("data"), vtype)}
        n, v = (None, None) if key is None else self._find_value(key, args.get("name") or "")
        if key is not None and v == want:
            return {"changed": False, "data_changed": False, "data_type_changed": False}
        if not check:
            self._ensure_key(args["path"])["values"][n or args.get("name") or ""] = want
        return {
            "changed": True,
            "data_changed": v is None or v["value"] != want["value"],
            "data_type_changed": v is not None and v["type"] != want["type"],
        }

    # -- accounts and groups
    def _account(self, ref):
        r = ref.lower()
        if r.startswith(".\\"):
            r = self.s["computer"].lower() + "\\" + r[2:]
        for a in self.s["accounts"]:
            if a["sid"].lower() == r or r in [n.lower() for n in a["names"]]:
                return a
        return None

    def win_reboot(self, args, check):
        # A restart: a new boot time (what the roles compare to know a pending change is in effect).
        if not check:
            self.s["boots"] = int(self.s.get("boots", 0)) + 1
            self.s["boot_time"] = "2026-11-30T%02d:00:00.0000000Z" % (6 + self.s["boots"])
        return {"changed": True, "rebooted": not check, "elapsed": 0}

    def _entry(self, sid):
        """A member or approved account as the read script reports it (class, scope, expansion)."""
        a = self._account(sid)
        machine = self._rid500()["sid"][: -len("-500")]
        scope = (
            "local"
            if sid.upper().startswith(machine.upper() + "-")
            else ("domain" if sid.upper().startswith("S-1-5-21-") else "wellknown")
        )
        e = {"sid": sid, "name": a["name"] if a else sid, "class": (a or {}).get("class", "user"), "scope": scope}
        if e["class"] == "group":
            if a.get("unreachable"):
                e["expansion"] = {"resolved": False, "members": [], "error": "The server is not operational."}
            else:
                seen, todo = [], list(a.get("members") or [])
                while todo:
                    m = todo.pop(0)
                    acc = self._account(m)
                    if acc and acc.get("class") == "group":
                        todo.extend(acc.get("members") or [])
                    elif m not in seen:
                        seen.append(m)
                e["expansion"] = {
                    "resolved": True,
                    "members": [{"sid": m, "name": (self._account(m) or {}).get("name", m)} for m in seen],
                    "error": None,
                }
        return e

    def win_ping(self, args, check):
        return {"changed": False, "ping": args.get("data") or "pong"}

    def win_whoami(self, args, check):
        return dict(self.s["whoami"], changed=False)

    def win_group_membership(self, args, check):
        group = None
        for g in self.s["groups"].values():
            if g["name"] == args["name"]:  # the real module compares the local name (-eq)
                group = g
        if group is None:
            return {"failed": True, "msg": "Could not find local group %s" % args["name"]}
        wanted = []
        for m in args["members"]:
            a = self._account(m)
            if a is None:
                return {"failed": True, "msg": "member %s cannot be resolved to a SID" % m}
            wanted.append(a["sid"])
        current = list(group["members"])
        state = args.get("state") or "present"
        if state == "pure":
            after = [s for s in current if s in wanted] + [s for s in wanted if s not in current]
        elif state == "present":
            after = current + [s for s in wanted if s not in current]
        else:
            after = [s for s in current if s not in wanted]
        added = [s for s in after if s not in current]
        removed = [s for s in current if s not in after]
        if not check:
            group["members"] = after
        name = lambda sid: self._account(sid)["name"] if self._account(sid) else sid  # noqa: E731
        return {
            "changed": bool(added or removed),
            "name": group["name"],
            "added": [name(s) for s in added],
            "removed": [name(s) for s in removed],
            "members": [name(s) for s in (current if check else after)],
        }

    def _rid500(self):
        return next(a for a in self.s["accounts"] if a["sid"].endswith("-500"))

    def win_security_policy(self, args, check):
        if args["section"] != "System Access":
            return {
                "failed": True,
                "msg": "The section '%s' does not exist in SecEdit.exe output ini" % args["section"],
            }
        rid500 = self._rid500()
        current = {
            "NewAdministratorName": rid500["name"].split("\\")[-1],
            "EnableAdminAccount": "1" if rid500["enabled"] else "0",
        }
        if args["key"] not in current:
            return {"failed": True, "msg": "The key '%s' in section 'System Access' is not a valid key" % args["key"]}
        if current[args["key"]] == str(args["value"]):
            return {"changed": False, "section": args["section"], "key": args["key"], "value": args["value"]}
        if not check:
            if args["key"] == "NewAdministratorName":
                old = rid500["name"]
                rid500["name"] = old.split("\\")[0] + "\\" + args["value"]
                rid500["names"] = [n for n in rid500["names"] if n.lower() != old.lower()] + [rid500["name"]]
            else:
                rid500["enabled"] = str(args["value"]) == "1"
        return {"changed": True, "section": args["section"], "key": args["key"], "value": args["value"]}

    # -- audit policy
    def win_audit_policy_system(self, args, check):
        sub = args.get("subcategory")
        hit = [g for g, a in self.s["audit"].items() if a["name"] == sub]
        if not sub or not hit:
            return {"failed": True, "msg": "Invalid sub category provided"}
        a = self.s["audit"][hit[0]]
        types = args["audit_type"]
        want = {"success": "success" in types, "failure": "failure" in types}
        changed = (a["success"], a["failure"]) != (want["success"], want["failure"])
        if changed and not check:
            a.update(want)
        return {"changed": changed, "current_audit_policy": {sub.lower(): _audit_text(a if not check else want)}}

    # -- win_powershell: the roles' read-only scripts, answered from the fake state
    def win_powershell(self, args, check):
        script = args.get("script") or ""
        if check and "SupportsShouldProcess" not in script:
            # The real module skips the script in check mode unless it declares ShouldProcess.
            return {"changed": False, "result": {}, "output": [], "skipped_script": True}
        m = re.search(r"^# pii_guard-read: (\w+)", script, re.MULTILINE)
        if not m:
            return {"failed": True, "msg": "recorder: no canned answer for this script (no '# pii_guard-read:' marker)"}
        params = args.get("parameters") or {}
        if m.group(1) == "audit_policy":
            result = dict(
                (
                    g,
                    {
                        "name": self.s["audit"][g.upper()]["name"],
                        "success": self.s["audit"][g.upper()]["success"],
                        "failure": self.s["audit"][g.upper()]["failure"],
                    },
                )
                for g in params["Guids"]
            )
            result["boot_time"] = self.s.get("boot_time")
            result["present_devices"] = list(self.s.get("pnp") or [])
        elif m.group(1) == "admin_state":
            group = self.s["groups"]["S-1-5-32-544"]
            members = [self._entry(sid) for sid in group["members"]]
            approved = []
            for ref in params.get("Approved") or []:
                a = self._account(ref)
                if a is None:
                    approved.append({"input": ref, "sid": None, "name": None})
                else:
                    approved.append(dict(self._entry(a["sid"]), input=ref))
            rid500 = self._rid500()
            machine = rid500["sid"][: -len("-500")]
            result = {
                "group": {"sid": "S-1-5-32-544", "name": group["name"]},
                "members": members,
                "approved": approved,
                "builtin_admin": {
                    "sid": rid500["sid"],
                    "name": rid500["name"].split("\\")[-1],
                    "enabled": rid500["enabled"],
                },
                "local_users": [
                    {"sid": a["sid"], "name": a["name"].split("\\")[-1], "enabled": a["enabled"]}
                    for a in self.s["accounts"]
                    if a["sid"].startswith(machine + "-") and a.get("class", "user") == "user"
                ],
                "boot_time": self.s.get("boot_time"),
            }
        else:
            return {"failed": True, "msg": "recorder: unknown read script %s" % m.group(1)}
        return {"changed": False, "result": result, "output": [], "error": [], "host_out": "", "host_err": ""}


def _audit_text(a):
    if a["success"] and a["failure"]:
        return "success and failure"
    if a["success"]:
        return "success"
    if a["failure"]:
        return "failure"
    return "no auditing"


class RecordingAction(ActionBase):
    """Base for the shims: subclasses set MODULE to the upstream FQCN they stand in for."""

    MODULE = None
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super(RecordingAction, self).run(tmp, task_vars)
        check = bool(self._task.check_mode or self._play_context.check_mode)
        args = dict(self._task.args)
        entry = {"module": self.MODULE, "args": args, "check_mode": check, "task": self._task.get_name()}
        try:
            spec, supports_check, late = real_module(self.MODULE)
        except AssertionError as e:
            entry.update(failed=True, changed=False)
            _log(entry)
            return dict(result, failed=True, msg="recorder: %s" % e)
        validated = ArgumentSpecValidator(spec).validate(args)
        messages = list(validated.error_messages)
        too_new = sorted(k for k in args if k in late)
        if too_new:
            messages.append(
                "option(s) %s are newer than the declared floor of the collection (added in %s)"
                % (", ".join(too_new), ", ".join(late[k] for k in too_new))
            )
        if messages:
            entry.update(failed=True, changed=False)
            _log(entry)
            return dict(
                result,
                failed=True,
                msg="%s: invalid arguments: %s" % (self.MODULE, "; ".join(messages)),
            )
        if check and not supports_check:
            entry.update(skipped=True, changed=False)
            _log(entry)
            return dict(result, skipped=True, msg="%s does not support check mode" % self.MODULE)
        state = _load_state()
        host = FakeWindows(state)
        out = getattr(host, self.MODULE.split(".")[-1])(validated.validated_parameters, check)
        if not check and not out.get("failed"):
            _save_state(state)
        entry.update(changed=bool(out.get("changed")), failed=bool(out.get("failed")))
        _log(entry)
        result.update(out)
        return result
