"""Clause 6-6 verdicts against the real sudo 1.9 in one lab container (issue 13, Proof).

* 500 generated configurations: the parser's verdict per user (any / ALL as root / passwordless
  ALL / each named command) equals sudo's, counted as over- and under-reports separately
  (10,000: ``make sudo-oracle``).
* harden's plan applied to generated configurations: afterwards sudo allows every unapproved
  user nothing as root beyond its approved limited grant, and ``visudo -c`` passes.
* temporary grants: ``NOTAFTER`` makes sudo refuse an expired rule on its own, and a user name
  with a dot gets a drop-in name sudo reads.
* ``group_source=dynamic``: a session that still carries a removed admin group loses sudo.
"""

from __future__ import annotations

import datetime
import json
import os
import random
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".cache" / "collections"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

import sudo_oracle as O  # noqa: E402

from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import plan as AP  # noqa: E402
from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import policy as P  # noqa: E402
from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import sudoers as S  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("podman") is None, reason="podman is needed for the lab container")

N_CONFIGS = int(os.environ.get("SUDO_ORACLE_N", "500"))
HARDEN_N = int(os.environ.get("SUDO_ORACLE_HARDEN_N", "12"))


# Both lab releases: sudo 1.9.13p3 (Debian 12) and 1.9.16p2 (13) answer some questions differently
# (docs/PLATFORMS.md), so the parser is held to each. `make test` builds both images first.
RELEASES = ["12", "13"]


@pytest.fixture(scope="module", params=RELEASES, ids=[f"debian{r}" for r in RELEASES])
def ct(request):
    image = f"localhost/pii-guard-lab:{request.param}"
    if O.podman("image", "exists", image, check=False).returncode != 0:
        pytest.skip(f"{image} not built (make test builds it: tests/lab/lab.py --release {request.param} image)")
    with O.Container(image=image) as c:
        yield c


def sh(ct, script, check=True):
    return O.podman("exec", ct.name, "bash", "-c", script, check=check)


@pytest.mark.control("6-6.sudoers_grants")
def test_parser_agrees_with_real_sudo_on_generated_configurations(ct, summary):
    # recovered: visudo -c fails on purpose (a CRLF drop-in) and sudo keeps the other statements
    stats = {"configs": 0, "invalid": 0, "recovered": 0, "verdicts": 0, "agree": 0, "over": 0, "under": 0}
    examples = []
    gen = O.Gen(random.Random(20261130), ct.ips)
    done = 0
    while done < N_CONFIGS:
        configs = [gen.config() for _ in range(min(100, N_CONFIGS - done))]
        for cfg, ans in zip(configs, ct.ask(configs), strict=True):
            stats["configs"] += 1
            if not ans["valid"]:
                stats["invalid" if not cfg.get("probe_invalid") else "recovered"] += 1
                if not cfg.get("probe_invalid"):
                    continue
            parser, _errors = O.verdict(cfg["files"], ct.ips, cfg["commands"], ct)
            n = sum(3 + len(s["commands"]) for s in ans["users"].values())
            diffs = list(O.compare(parser, ans["users"]))
            stats["verdicts"] += n
            stats["agree"] += n - len(diffs)
            for u, k, pv, sv in diffs:
                stats["over" if pv and not sv else "under"] += 1
                examples.append({"user": u, "what": k, "parser": pv, "sudo": sv, "files": cfg["files"]})
        done += len(configs)
    summary.append(f"sudo oracle on {ct.image} (parser vs real sudo -l): " + json.dumps(stats))
    assert stats["configs"] == N_CONFIGS and stats["invalid"] == 0
    assert stats["over"] == 0 and stats["under"] == 0, json.dumps(examples[:3], indent=1)
    assert stats["agree"] == stats["verdicts"] > N_CONFIGS * 10


def _apply(ct, files):
    """Write a configuration (path -> text; None deletes) into the container."""
    script = ["set -e", "rm -rf /etc/sudoers.d", "mkdir -m 750 /etc/sudoers.d"]
    for path, text in files.items():
        if text is None:
            continue
        script.append("cat > %s <<'PIIGUARD_EOF'\n%sPIIGUARD_EOF\nchmod 440 %s" % (path, text, path))
    sh(ct, "\n".join(script))


def _state(ct, files, approved, nopw, limited):
    accts = O.accounts()
    return {
        "params": {
            "approved_users": approved,
            "approved_groups": [],
            "admin_groups": ["devs"],
            "nopasswd_approved": nopw,
            "limited_grants": limited,
            "temporary": [],
            "operator_via_ssh": False,
            "allow_self_removal": False,
            "manage_root_ssh": False,
            "lock_root_password": False,
            "remove_extra_uid0": False,
            "sudo_logfile": "/var/log/sudo.log",
            "audit_rules": False,
            "sudoers": "/etc/sudoers",
            "sshd_dropin": "/nonexistent",
            "audit_rules_file": "/nonexistent",
        },
        "now": datetime.datetime.now(datetime.UTC),
        "operator": "root",
        "operator_source": "test",
        "accounts": accts,
        "uid_names": {a.uid: a.name for a in accts},
        "gid_names": {gid: g for g, gid in O.GROUPS.items()},
        "groups": {g: sorted(u for u, (_uid, gs) in O.USERS.items() if g in gs) for g in O.GROUPS},
        "fs": S.OverlayFS(files, S._NoFS()),
        "host": S.HostInfo(O.HOSTNAME, ct.ips),
        "sshd": None,
        "prl": None,
        "sshd_dropin": None,
        "root_locked": None,
        "uid0": [],
        "audit_before": None,
        "audit_loaded": None,
        "timer": None,
    }


@pytest.mark.control("6-6.sudoers_grants")
def test_harden_plan_checked_by_real_sudo_afterwards(ct, summary):
    """For generated configurations: apply harden's planned files and group changes, then ask sudo."""
    approved, nopw = ["alice"], ["alice"]
    limited = [{"user": "carol", "runas": "root", "commands": ["/usr/bin/id"]}]
    gen = O.Gen(random.Random(613), ct.ips)
    checked = 0
    for _ in range(HARDEN_N):
        cfg = gen.config()
        # carol's approved limited grant, and one wider one that must go
        cfg["files"]["/etc/sudoers"] += "carol ALL = (root) /usr/bin/id\ndave ALL = (root) /usr/bin/id\n"
        st = _state(ct, cfg["files"], approved, nopw, limited)
        pl = AP.plan(st)
        after = dict(cfg["files"])
        after.update(pl["files"])
        after = {k: v for k, v in after.items() if v is not None}
        _apply(ct, after)
        groups = ["gpasswd -d %s devs >/dev/null 2>&1 || true" % u for u in O.USERS]
        for g, ch in pl["group_changes"].items():
            groups += ["gpasswd -a %s %s >/dev/null" % (u, g) for u in ch["add"]]
        sh(ct, "; ".join([*groups, "usermod -aG devs alice"]))
        assert sh(ct, "visudo -c", check=False).returncode == 0
        ans = ct.ask([{"files": after, "commands": ["/usr/bin/id", "/bin/sh", "/usr/bin/journalctl"]}])[0]
        assert ans["valid"]
        for u, r in ans["users"].items():
            if u in approved:
                continue
            allowed = {c for c, ok in r["commands"].items() if ok}
            assert not r["all"] and not r["nopasswd_all"], (u, after)
            assert allowed <= ({"/usr/bin/id"} if u == "carol" else set()), (u, allowed, after)
        checked += 1
        # restore the oracle's group memberships for the next round
        sh(ct, "; ".join("usermod -G %s %s" % (",".join(gs) or '""', u) for u, (_uid, gs) in O.USERS.items()))
    summary.append("sudo oracle on %s: harden checked by real sudo on %d configurations" % (ct.image, checked))
    assert checked == HARDEN_N


@pytest.mark.control("6-6.temporary_grants")
def test_temporary_grant_notafter_and_dotted_user_name_on_real_sudo(ct):
    sh(ct, "id j.smith >/dev/null 2>&1 || useradd j.smith")
    future = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    grant = {"user": "j.smith", "reason": "migration", "ticket": "CHG-1"}
    name = P.temporary_name("j.smith")
    files = {"/etc/sudoers": O.MAIN_HEAD + "@includedir /etc/sudoers.d\n"}
    files["/etc/sudoers.d/" + name] = P.temporary_file(grant, future)
    _apply(ct, files)
    assert sh(ct, "visudo -c", check=False).returncode == 0
    assert sh(ct, "sudo -l -U j.smith -u root " + O.PROBE, check=False).returncode == 0
    # The name the old code wrote is skipped by sudo: the grant silently did not work.
    files = {
        "/etc/sudoers": files["/etc/sudoers"],
        "/etc/sudoers.d/pii_guard_tmp_j.smith": files["/etc/sudoers.d/" + name],
    }
    _apply(ct, files)
    assert sh(ct, "sudo -l -U j.smith -u root " + O.PROBE, check=False).returncode != 0
    # Expired: sudo itself refuses the rule (no timer involved).
    files = {"/etc/sudoers": files["/etc/sudoers"], "/etc/sudoers.d/" + name: P.temporary_file(grant, past)}
    _apply(ct, files)
    assert sh(ct, "visudo -c", check=False).returncode == 0
    assert sh(ct, "sudo -l -U j.smith -u root " + O.PROBE, check=False).returncode != 0


@pytest.mark.control("6-6.admin_group_members")
def test_open_session_keeps_a_removed_admin_group_as_the_finding_says(ct):
    """A process still carrying group devs (a session opened before dave left it) keeps sudo under
    sudo's default group_source; 'Set group_source dynamic' in sudo.conf ends that, and the
    role's sudoers drop-in cannot (sudo refuses 'Defaults group_source')."""
    base = O.MAIN_HEAD + "%devs ALL=(ALL) NOPASSWD: ALL\n@includedir /etc/sudoers.d\n"
    sess = "setpriv --reuid=dave --regid=dave --groups=%d sudo -n -u root %s" % (O.GROUPS["devs"], O.PROBE)
    _apply(ct, {"/etc/sudoers": base})
    assert sh(ct, "id -nG dave", check=False).stdout.split() == ["dave"]
    assert sh(ct, sess, check=False).returncode == 0
    assert "sessions opened before the removal" in AP.GROUP_SOURCE_NOTE
    _apply(ct, {"/etc/sudoers": base + "Defaults group_source=dynamic\n"})
    assert "unknown defaults entry" in sh(ct, "visudo -c", check=False).stderr
    _apply(ct, {"/etc/sudoers": base})
    try:
        sh(ct, "cp /etc/sudo.conf /root/sudo.conf.orig; echo 'Set group_source dynamic' >> /etc/sudo.conf")
        assert sh(ct, sess, check=False).returncode != 0
    finally:
        sh(ct, "cp /root/sudo.conf.orig /etc/sudo.conf")
