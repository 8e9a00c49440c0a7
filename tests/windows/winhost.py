"""A fresh Windows-flavoured test host for the recorder, and a runner for the role plays.

Used by tests/unit/roles/test_windows_tasks.py. No Windows and no network: the inventory host has
WinRM connection variables pointing at 127.0.0.1, but the recorder (tests/windows/collections)
replaces every ansible.windows / community.windows module and never connects.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
HERE = pathlib.Path(__file__).resolve().parent
COMPUTER = "PC-0042"
DOMAIN_SID = "S-1-5-21-1004336348-1177238915-682003330"
LOCAL_SID = "S-1-5-21-3623811015-3361044348-30300820"
# Localised names on purpose: the roles must find things by SID / GUID, not by English name.
ADMINS_NAME = "Administratoren"
AUDIT_NAMES = {
    "{0CCE9245-69AE-11D9-BED3-505054503030}": "リムーバブル記憶域",
    "{0CCE9248-69AE-11D9-BED3-505054503030}": "プラグ アンド プレイ イベント",
}
OPERATOR_SID = DOMAIN_SID + "-1105"
RID500_SID = LOCAL_SID + "-500"
SIDS = {
    "operator": OPERATOR_SID,
    "rid500": RID500_SID,
    "pc_admins": DOMAIN_SID + "-1201",
    "opadmin": LOCAL_SID + "-1001",
    "kiosk": LOCAL_SID + "-1002",
    "domain_admins": DOMAIN_SID + "-512",
    "alice": DOMAIN_SID + "-1301",
    "helpdesk": DOMAIN_SID + "-1401",
}
BOOT_TIME = "2026-11-30T05:00:00.0000000Z"


def _acct(sid, *names, enabled=True, members=None):
    a = {"sid": sid, "name": names[0], "names": list(names), "enabled": enabled, "class": "user"}
    if members is not None:
        a.update({"class": "group", "members": list(members)})
    return a


def fresh_state() -> dict:
    """A Windows 11 endpoint as delivered: no policies, USB storage on demand, UAC defaults."""
    reg = {}

    def put(path, values):
        parts = path.split("\\")
        for i in range(1, len(parts) + 1):
            p = "\\".join(parts[:i])
            key = p.replace("HKLM:", "HKLM").lower()
            reg.setdefault(key, {"path": p, "values": {}})
        reg[path.replace("HKLM:", "HKLM").lower()]["values"].update(values)

    put("HKLM:\\SYSTEM\\CurrentControlSet\\Services\\USBSTOR", {"Start": {"type": "REG_DWORD", "value": 3}})
    put("HKLM:\\SYSTEM\\CurrentControlSet\\Services\\UASPStor", {"Start": {"type": "REG_DWORD", "value": 3}})
    put(
        "HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System",
        {
            "EnableLUA": {"type": "REG_DWORD", "value": 1},
            "ConsentPromptBehaviorAdmin": {"type": "REG_DWORD", "value": 5},
            "PromptOnSecureDesktop": {"type": "REG_DWORD", "value": 1},
        },
    )
    put("HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows", {})
    return {
        "computer": COMPUTER,
        "boot_time": BOOT_TIME,
        "registry": reg,
        "audit": dict((g, {"name": n, "success": False, "failure": False}) for g, n in AUDIT_NAMES.items()),
        "accounts": [
            _acct(SIDS["operator"], "AGENCY\\ansible-op", "ansible-op@agency.example"),
            _acct(SIDS["rid500"], COMPUTER + "\\Administrator"),
            _acct(SIDS["pc_admins"], "AGENCY\\PC-Admins", members=[SIDS["alice"]]),
            _acct(SIDS["alice"], "AGENCY\\alice"),
            _acct(SIDS["helpdesk"], "AGENCY\\Helpdesk", members=[]),
            _acct(SIDS["opadmin"], COMPUTER + "\\opadmin"),
            _acct(SIDS["kiosk"], COMPUTER + "\\kiosk"),
            _acct(SIDS["domain_admins"], "AGENCY\\Domain Admins", members=[SIDS["operator"]]),
        ],
        "groups": {
            "S-1-5-32-544": {
                "name": ADMINS_NAME,
                "members": [SIDS["rid500"], SIDS["domain_admins"], SIDS["kiosk"], SIDS["operator"]],
            }
        },
        "whoami": {
            "account": {
                "sid": OPERATOR_SID,
                "account_name": "ansible-op",
                "domain_name": "AGENCY",
                "type": "User",
            },
            # Token groups (win_whoami "groups"): the operator is in Domain Admins.
            "groups": [
                {"sid": SIDS["domain_admins"], "account_name": "Domain Admins", "domain_name": "AGENCY"},
                {"sid": "S-1-5-32-544", "account_name": ADMINS_NAME, "domain_name": "BUILTIN"},
            ],
            "login_domain": "AGENCY",
            "logon_type": "Network",
        },
    }


def run_boot(run) -> str:
    """The boot time the host had during ``run`` (what a pending-restart record holds); runs
    that restart the host are not asked."""
    assert not [c for c in run.calls if c["module"].endswith("win_reboot")]
    return run.state["boot_time"]


class Run:
    def __init__(self, proc: subprocess.CompletedProcess, calls: list[dict], state: dict, findings: list[dict]):
        self.rc = proc.returncode
        self.out = proc.stdout + proc.stderr
        self.calls = calls
        self.state = state
        self.findings = findings

    def finding(self, control_id: str) -> dict:
        hits = [f for f in self.findings if f["id"] == control_id]
        assert len(hits) == 1, (control_id, self.findings)
        return hits[0]

    def of(self, module: str) -> list[dict]:
        return [c for c in self.calls if c["module"].endswith("." + module)]

    def writes(self) -> list[dict]:
        """Calls that would change the host: write-capable modules, not in check mode."""
        write_modules = (
            "win_regedit",
            "win_group_membership",
            "win_security_policy",
            "win_audit_policy_system",
            "win_reboot",
        )
        return [c for c in self.calls if c["module"].split(".")[-1] in write_modules and not c["check_mode"]]


def play(
    tmp: pathlib.Path, playbook: str, hostvars: dict, state: dict, *extra: str, project: pathlib.Path = ROOT
) -> Run:
    """Run tests/windows/<playbook> against one Windows-flavoured host; return calls and state."""
    state_file = tmp / "state.json"
    log = tmp / "calls.jsonl"
    state_file.write_text(json.dumps(state), encoding="utf-8")
    log.write_text("", encoding="utf-8")
    findings = tmp / "findings.json"
    findings.unlink(missing_ok=True)
    hv = {
        "ansible_host": "127.0.0.1",
        "ansible_connection": "winrm",
        "ansible_port": 5986,
        "ansible_user": "AGENCY\\ansible-op",
        "ansible_winrm_transport": "ntlm",
        "ansible_winrm_server_cert_validation": "ignore",
        "pii_guard_platform": "windows",
    }
    hv.update(hostvars)
    inv = tmp / "inventory.json"
    inv.write_text(json.dumps({"all": {"children": {"windows": {"hosts": {"pc0042": hv}}}}}), encoding="utf-8")
    env = dict(os.environ)
    venv_bin = str(pathlib.Path(sys.executable).parent)
    env.update(
        PATH=venv_bin + os.pathsep + env.get("PATH", ""),
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=os.pathsep.join([str(HERE / "collections"), str(ROOT / ".cache" / "collections")]),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-tmp"),
        WINREC_STATE=str(state_file),
        WINREC_LOG=str(log),
        WINREC_PROJECT=str(project),
    )
    proc = subprocess.run(
        [
            os.path.join(venv_bin, "ansible-playbook"),
            "-i",
            str(inv),
            str(HERE / playbook),
            "-e",
            "winrec_findings=" + str(findings),
            *extra,
        ],
        cwd=str(ROOT),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    found = json.loads(findings.read_text(encoding="utf-8")) if findings.exists() else []
    return Run(proc, calls, json.loads(state_file.read_text(encoding="utf-8")), found)
