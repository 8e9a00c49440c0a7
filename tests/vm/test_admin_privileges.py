"""Clause 6-6 over real SSH on the lab VM: who can sudo after apply, root login, the guard, expiry.

Fixtures give each test its state, so the tests run one by one and in any order: `seeded`
creates users with stray privileges, `preconditions` records what they can do before the
apply (it runs before `applied` whatever the order), `applied` runs the module's apply, records
what a temporary grant allows right after it, then re-applies the same policy with that grant
expiring a few minutes later. A refused play and bad input are shown to change nothing (in either
state); the apply is checked from the outside (ssh as each user, sudo with a password on stdin).
The expiry test waits for the systemd timer alone to remove the grant once it has expired; it runs
last in the session (vm_last, tests/vm/conftest.py), so the other modules' tests fill that wait,
which is why the fixtures here are session-scoped. The VM is left usable for later modules: labop
keeps SSH and passwordless sudo.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".cache" / "collections"))

from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import sudoers as S  # noqa: E402
from tests.lab.vm import run_playbook  # noqa: E402

PLAY = "tests/vm/admin_privileges.yml"
PW = "Lab-pw-6-6"
USERS = ("alice", "intruder", "dropper", "tempo")


def sh(vm, cmd: str, user: str = "labop", check: bool = True, fresh: bool | None = None):
    """Every login other than labop's is fresh: a multiplexed session would keep the groups
    and the sshd decision of its first login, hiding what the apply changed."""
    if fresh is None:
        fresh = user != "labop"
    return vm.ssh(cmd, user=user, check=check, timeout=300, fresh=fresh)


def digest(vm) -> str:
    """Everything the role may touch: sudoers, groups, sshd/audit drop-ins, units, quarantine."""
    return sh(
        vm,
        "sudo sh -c 'find /etc/sudoers /etc/sudoers.d /etc/ssh /etc/audit/rules.d /var/lib/pii_guard "
        "/etc/systemd/system /usr/local/sbin -type f 2>/dev/null | sort | xargs sha256sum; "
        "sha256sum /etc/group /etc/gshadow /etc/passwd /etc/shadow'",
    ).stdout


def sudo_as(vm, user: str, command: str = "id -u"):
    """Run sudo as `user` over SSH with the password on stdin (no tty, as an admin would script it)."""
    return sh(vm, f"echo {PW} | sudo -S -p '' {command}", user=user, check=False)


def play(vm, extra_vars):
    """run_playbook with JSON results, so messages are matched verbatim (no YAML quoting/folding)."""
    old = os.environ.get("ANSIBLE_CALLBACK_RESULT_FORMAT")
    os.environ["ANSIBLE_CALLBACK_RESULT_FORMAT"] = "json"
    try:
        res = run_playbook(vm, PLAY, extra_vars=extra_vars)
    finally:
        if old is None:
            os.environ.pop("ANSIBLE_CALLBACK_RESULT_FORMAT", None)
        else:
            os.environ["ANSIBLE_CALLBACK_RESULT_FORMAT"] = old
    return res


def base_vars(**extra):
    v = {
        "admin_privileges_approved_users": ["labop", "alice"],
        "admin_privileges_nopasswd_approved": ["labop"],
        "admin_privileges_temporary": [],
    }
    v.update(extra)
    return v


@pytest.fixture(scope="session")
def seeded(vm):
    """Users with stray privileges; every test user (and root) accepts the lab key over SSH."""
    users = " ".join(USERS)
    sh(
        vm,
        "sudo sh -ec '"
        f"for u in {users}; do id $u >/dev/null 2>&1 || useradd -m -s /bin/bash $u; "
        f'echo "$u:{PW}" | chpasswd; install -d -m 700 -o $u -g $u /home/$u/.ssh; '
        "install -m 600 -o $u -g $u /home/labop/.ssh/authorized_keys /home/$u/.ssh/authorized_keys; done; "
        "install -d -m 700 /root/.ssh; install -m 600 /home/labop/.ssh/authorized_keys /root/.ssh/authorized_keys; "
        "gpasswd -a intruder sudo >/dev/null; "
        'printf "dropper ALL=(ALL) NOPASSWD: ALL\\n" > /etc/sudoers.d/dropper; chmod 0440 /etc/sudoers.d/dropper; '
        "visudo -c >/dev/null'",
    )
    return vm


@pytest.fixture(scope="session")
def preconditions(seeded):
    """What the seeded users can do before the apply, read before `applied` runs (it depends on
    this fixture), so the later 'cannot' results mean something in any test order."""
    return {
        "intruder_sudo": sudo_as(seeded, "intruder").stdout.strip(),
        "dropper_sudo": sh(seeded, "sudo -n id -u", user="dropper", check=False).stdout.strip(),
        "root_ssh": sh(seeded, "id -u", user="root", check=False).stdout.strip(),
    }


def guest_epoch(vm) -> int:
    """The guest's clock: the module and the expiry timer judge `until` by it."""
    return int(sh(vm, "date -u +%s").stdout)


def utc_stamp(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


@pytest.fixture(scope="session")
def applied(seeded, preconditions):
    """The module's apply, then a re-apply that makes tempo's temporary grant expire soon.

    The apply grants tempo for a day: no apply is that slow, so what the grant allows is read
    right after it whatever the load. The re-apply (same policy, only tempo's `until` moved to a
    few minutes ahead) hands the grant to the minutely timer, which alone must remove it
    (test_expired_temporary_grant_removed_by_the_timer_alone). That expiry must still be ahead
    when the module runs (it refuses one in the past): it is sized from the apply just measured,
    and moved further out when this machine was slower still.
    """
    day = utc_stamp(guest_epoch(seeded) + 86400)
    grant = {"user": "tempo", "until": day, "reason": "VM test", "ticket": "CHG-VM-1"}
    started = time.monotonic()
    state = {"result": play(seeded, base_vars(admin_privileges_temporary=[grant]))}
    state["apply_seconds"] = time.monotonic() - started
    print(f"\n[admin] apply run took {state['apply_seconds']:.0f} s")
    res = state["result"]
    # Every test of the applied state depends on this run: stop here with its output when it failed.
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    state["tempo_sudo"] = sudo_as(seeded, "tempo").stdout.strip()

    lifetime = int(max(120, 2 * state["apply_seconds"]))
    for _attempt in range(3):
        until = guest_epoch(seeded) + lifetime
        started = time.monotonic()
        res = play(seeded, base_vars(admin_privileges_temporary=[dict(grant, until=utc_stamp(until))]))
        if res.returncode == 0 or "is in the past" not in res.stdout + res.stderr:
            break
        print(f"\n[admin] the re-apply outlasted a {lifetime} s grant; again with {2 * lifetime} s")
        lifetime *= 2
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    print(f"\n[admin] re-apply took {time.monotonic() - started:.0f} s; the grant expires {lifetime} s after its start")
    state["until_epoch"] = until  # on the guest's clock
    return state


def test_seeded_privileges_work_before_apply(preconditions):
    """Preconditions, so the later 'cannot' results mean something."""
    assert preconditions["intruder_sudo"] == "0"
    assert preconditions["dropper_sudo"] == "0"
    assert preconditions["root_ssh"] == "0"  # root SSH worked before the apply


@pytest.mark.control("6-6.admin_group_members")
def test_play_that_would_remove_the_operator_fails_and_changes_nothing(seeded):
    before = digest(seeded)
    res = play(seeded, base_vars(admin_privileges_approved_users=["alice"]))
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert "lock-out guard refused the change" in out and "'labop' would lose its path" in out
    assert digest(seeded) == before


@pytest.mark.control("6-6.temporary_grants")
def test_lockout_with_a_temporary_grant_stops_before_the_expiry_timer_is_written(seeded):
    # With grants, the role writes the expiry script and units before the module run; the
    # guard's check-mode pre-run must refuse first, or those files would be left behind.
    before = digest(seeded)
    until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
    grant = {"user": "tempo", "until": until, "reason": "VM test", "ticket": "CHG-VM-0"}
    res = play(seeded, base_vars(admin_privileges_approved_users=["alice"], admin_privileges_temporary=[grant]))
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert "lock-out guard refused the change" in out and "'labop' would lose its path" in out
    assert "Temporary grants | Install the expiry script" not in out
    assert digest(seeded) == before


def test_bad_input_refused_before_any_change(seeded):
    before = digest(seeded)
    bad = base_vars(
        admin_privileges_approved_users=["labop", "Bad User"],
        admin_privileges_temporary=[
            {"user": "tempo", "until": "2020-01-01", "reason": "r", "ticket": "T-1"},
            {"user": "tempo", "until": "soon", "reason": "r", "ticket": "T-2"},
        ],
    )
    res = play(seeded, bad)
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert "admin_privileges_approved_users[1]: 'Bad User' is not a valid user or group name" in out
    assert "admin_privileges_temporary[0].until: '2020-01-01' is in the past" in out
    assert "admin_privileges_temporary[1].until: 'soon' is not a date" in out
    res = play(seeded, base_vars(admin_privileges_approved_users=[]))
    assert res.returncode != 0 and "admin_privileges_approved_users is empty" in res.stdout + res.stderr
    assert digest(seeded) == before


def test_apply(applied):
    res = applied["result"]
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


@pytest.mark.control("6-6.sudo_nopasswd")
@pytest.mark.usefixtures("applied")
def test_operator_connection_and_passwordless_sudo_still_work(seeded):
    assert sh(seeded, "sudo -n id -u", fresh=True).stdout.strip() == "0"


@pytest.mark.control("6-6.sudoers_grants")
@pytest.mark.usefixtures("applied")
def test_approved_admin_can_sudo(seeded):
    assert sudo_as(seeded, "alice").stdout.strip() == "0"


@pytest.mark.control("6-6.admin_group_members")
@pytest.mark.usefixtures("applied")
def test_removed_group_member_cannot_sudo(seeded):
    res = sudo_as(seeded, "intruder")
    assert res.returncode != 0 and "not in the sudoers file" in res.stderr
    assert sorted(sh(seeded, "getent group sudo").stdout.strip().split(":")[3].split(",")) == ["alice", "labop"]


@pytest.mark.control("6-6.sudoers_grants")
@pytest.mark.usefixtures("applied")
def test_quarantined_dropin_grant_no_longer_works(seeded):
    res = sudo_as(seeded, "dropper")
    assert res.returncode != 0 and "not in the sudoers file" in res.stderr
    q = sh(seeded, "sudo sh -c 'cat /var/lib/pii_guard/sudoers-quarantine/dropper.*'").stdout
    assert "dropper ALL=(ALL) NOPASSWD: ALL" in q


@pytest.mark.control("6-6.root_ssh_login")
@pytest.mark.usefixtures("applied")
def test_root_ssh_login_refused(seeded):
    res = sh(seeded, "id -u", user="root", check=False)
    assert res.returncode == 255 and "Permission denied" in res.stderr
    assert "permitrootlogin no" in sh(seeded, "sudo sshd -T").stdout


@pytest.mark.control("6-6.privileged_use_logging")
@pytest.mark.usefixtures("applied")
def test_privileged_use_is_logged_by_sudo_and_auditd(seeded):
    assert sudo_as(seeded, "alice", "/usr/bin/true").returncode == 0
    log = sh(seeded, "sudo cat /var/log/sudo.log").stdout
    assert "alice" in log and "COMMAND=/usr/bin/true" in log
    assert "pii_guard_root_cmd" in sh(seeded, "sudo auditctl -l").stdout
    # --input-logs: without a tty on stdin ausearch would read stdin instead of the logs.
    events = sh(seeded, "sudo ausearch --input-logs -i -k pii_guard_root_cmd -ua alice", check=False).stdout
    assert "auid=alice" in events


@pytest.mark.control("6-6.temporary_grants")
def test_temporary_grant_works_before_expiry(applied):
    # Read right after the apply, while tempo's grant had a day to run.
    assert applied["tempo_sudo"] == "0"


# ------------------------------------------------------------------ parser vs the real sudo
FZ_USERS = ["fza", "fzb", "%fzg", "%#2100", "#2002", "ALL", "FZADM"]
FZ_CMDS = ["ALL", "/bin/ls", "/usr/bin/id -u", "SHELLS", "!/bin/sh", "!ALL"]
FZ_RUNAS = ["", "(ALL)", "(ALL:ALL)", "(root)", "(nobody)", "(:adm)", "(FZOP)", "(!root, ALL)", "(ALL, !root)"]
FZ_TAGS = ["", "NOPASSWD: ", "PASSWD: ", "NOEXEC: "]
# listpw=never: the oracle asks as each user (real_sudo), and `sudo -l` would otherwise want the
# user's password for entries without NOPASSWD (listpw=any, the default); the parser ignores it.
FZ_PRE = (
    "Defaults:fza,fzb listpw=never\n"
    "User_Alias FZADM = fza, !fzb\nRunas_Alias FZOP = root, nobody\nCmnd_Alias SHELLS = /bin/sh, /bin/bash\n"
)
# Probes: an arbitrary command (only an ALL grant allows it) and the concrete commands above.
PROBES = ["/usr/bin/uname", "/bin/ls", "/usr/bin/id -u", "/bin/sh", "/bin/bash"]


@st.composite
def fz_spec(draw):
    users = draw(st.lists(st.tuples(st.booleans(), st.sampled_from(FZ_USERS)), min_size=1, max_size=3))
    ulist = ", ".join(("!" if neg else "") + u for neg, u in users)
    cmds = draw(
        st.lists(
            st.tuples(st.sampled_from(FZ_RUNAS), st.sampled_from(FZ_TAGS), st.sampled_from(FZ_CMDS)),
            min_size=1,
            max_size=3,
        )
    )
    return "%s ALL = %s" % (ulist, ", ".join("%s %s%s" % c for c in cmds))


fz_files = st.lists(st.lists(fz_spec(), min_size=1, max_size=4), min_size=8, max_size=8)


def _parser_allows(text: str, user, probe: str) -> bool:
    got = S.summarize(S.root_grants(S.parse_text(text), [user])).get(user.name)
    if not got:
        return False
    return got["all"] or probe in got["commands"]


def fuzz_users(vm) -> None:
    sh(
        vm,
        "sudo sh -ec 'getent group fzg >/dev/null || groupadd -g 2100 fzg; "
        "id fza >/dev/null 2>&1 || useradd -M -u 2001 -G fzg fza; "
        "id fzb >/dev/null 2>&1 || useradd -M -u 2002 fzb'",
    )


def real_sudo(vm, texts: list[str]) -> tuple[list[tuple[int, str, str, str]], str]:
    """What the real sudo in the VM says for each sudoers text, user and probe: (index, user,
    "1" allowed / "0" not, probe), and the raw output. Each user asks sudo itself
    (`runuser -u U -- sudo -n -l -u root CMD`): sudo 1.9.16 (Debian 13) matches a runas-group-only
    entry such as `(:adm)` against the invoking user when root lists another user's privileges
    (`sudo -l -U U`), and so reports commands the user itself is refused (12's 1.9.13 does not)."""
    fuzz_users(vm)
    probes = " ".join(shlex.quote(p) for p in PROBES)
    script = (
        "set -u; for f in /tmp/fz/*; do "
        '  if ! visudo -cqf $f >/dev/null 2>&1; then echo "$(basename $f) invalid"; continue; fi; '
        "  install -m 0440 $f /etc/sudoers.d/zz_fuzz; "
        "  for u in fza fzb; do for p in " + probes + "; do "
        "    if runuser -u $u -- sudo -n -l -u root $p >/dev/null 2>&1; then r=1; else r=0; fi; "
        '    echo "$(basename $f) $u $r $p"; done; done; '
        "  rm -f /etc/sudoers.d/zz_fuzz; done; rm -rf /tmp/fz"
    )
    payload = json.dumps({"%02d" % i: t for i, t in enumerate(texts)})
    writer = (
        "import json,os,sys; os.makedirs('/tmp/fz', exist_ok=True); "
        "[open('/tmp/fz/'+k,'w').write(v) for k,v in json.loads(sys.stdin.read()).items()]"
    )
    sh(vm, f"printf '%s' {shlex.quote(payload)} | sudo python3 -c {shlex.quote(writer)}")
    out = vm.ssh(f"sudo sh -c {shlex.quote(script)}", timeout=900).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4:
            rows.append((int(parts[0]), parts[1], parts[2], parts[3]))
    return rows, out


@pytest.mark.control("6-6.sudoers_grants")
def test_the_sudo_oracle_tells_allowed_from_refused(seeded):
    """The oracle below is only as strong as its "allowed": on known files it must say 1 where
    the user may run the command (a PASSWD entry too: listing needs no password) and 0 elsewhere."""
    cases = [
        # fza may run `id -u` as root, with a password: allowed, nothing else, and not for fzb.
        ("fza ALL = (root) PASSWD: /usr/bin/id -u", {("fza", "/usr/bin/id -u")}),
        # A group grant of ALL: every probe for fza (in fzg), none for fzb.
        ("%fzg ALL = (ALL) ALL", {("fza", p) for p in PROBES}),
        # A runas group only: root is not a target (sudo 1.9.16's `-l -U` listing, run as root, said it was).
        ("fza ALL = (:adm) NOPASSWD: /bin/bash", set()),
        # Everyone but root gives nothing; SHELLS as FZOP (root among them) to both users, nothing else.
        (
            "FZADM ALL = (ALL, !root) NOPASSWD: ALL\nALL ALL = (FZOP) SHELLS",
            {(u, p) for u in ("fza", "fzb") for p in ("/bin/sh", "/bin/bash")},
        ),
    ]
    rows, out = real_sudo(seeded, [FZ_PRE + spec + "\n" for spec, _ in cases])
    assert len(rows) == len(cases) * 2 * len(PROBES), out
    for i, user, real, probe in rows:
        spec, allowed = cases[i]
        assert real == ("1" if (user, probe) in allowed else "0"), (spec, user, probe, real)


# One batch of 8 files (80 verdicts): each sudo call costs about 1 s under TCG. The breadth is in
# tests/integration/test_sudo_oracle.py: 500 configurations against the real sudo of 12 and of 13.
@settings(
    max_examples=1, deadline=None, database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck)
)
@given(batch=fz_files)
@pytest.mark.control("6-6.sudoers_grants")
def test_parser_never_reports_less_than_real_sudo(seeded, batch):
    """Generated sudoers files, judged by the real sudo in the VM (real_sudo: each user asks)."""
    texts = [FZ_PRE + "\n".join(specs) + "\n" for specs in batch]
    rows, out = real_sudo(seeded, texts)
    accounts = {
        "fza": S.Account("fza", 2001, {"fza", "fzg"}, {2001, 2100}),
        "fzb": S.Account("fzb", 2002, {"fzb"}, {2002}),
    }
    checked = allowed = 0
    misses = []
    for i, u, real, probe in rows:
        checked += 1
        if real == "1":
            allowed += 1
            if not _parser_allows(texts[i], accounts[u], probe):
                misses.append((texts[i], u, probe))
    print(
        f"\n[admin] sudo -l comparisons: {checked}, real sudo allowed: {allowed}, parser under-reported: {len(misses)}"
    )
    assert checked >= 8 * 2 * len(PROBES) // 2, out  # most generated files were valid and probed
    assert not misses, misses[:3]


@pytest.mark.control("6-6.temporary_grants")
@pytest.mark.vm_last
def test_expired_temporary_grant_removed_by_the_timer_alone(seeded, applied):
    """No Ansible run and no manual call: the minutely timer must remove the grant."""
    until = applied["until_epoch"]
    # Wait for what decides it, however slow the guest: the grant gone, or a run of the expiry
    # service that started at or after the expiry and has ended (the grant must then be gone).
    # The service is read before the file, in one call, so a run ending in between is not missed.
    # The cap only ends the wait for a timer that never fires.
    probe = (
        "systemctl show --timestamp=unix -p ActiveState -p ExecMainStartTimestamp pii-guard-sudo-expiry.service; "
        "test -e /etc/sudoers.d/pii_guard_tmp_tempo && echo grant=present || echo grant=gone"
    )
    cap = time.monotonic() + max(0, until - guest_epoch(seeded)) + 600
    while True:
        seen = dict(line.split("=", 1) for line in sh(seeded, probe).stdout.splitlines() if "=" in line)
        started = seen.get("ExecMainStartTimestamp", "").lstrip("@")
        ran_after = started.isdigit() and int(started) >= until and seen.get("ActiveState") in ("inactive", "failed")
        if seen.get("grant") == "gone" or ran_after or time.monotonic() > cap:
            break
        time.sleep(10)
    assert seen.get("grant") == "gone", (
        seen,
        sh(seeded, "sudo journalctl -u pii-guard-sudo-expiry.service --no-pager -n 20", check=False).stdout,
    )
    res = sudo_as(seeded, "tempo")
    assert res.returncode != 0 and "not in the sudoers file" in res.stderr
    journal = sh(seeded, "sudo journalctl -u pii-guard-sudo-expiry.service --no-pager -o cat").stdout
    assert "removed temporary sudo grant pii_guard_tmp_tempo" in journal
    print(f"\n[admin] grant gone by {guest_epoch(seeded) - until} s after its expiry (poll every 10 s)")


def test_vm_left_usable_for_later_modules(seeded):
    assert sh(seeded, "sudo -n true").returncode == 0
    assert sh(seeded, "sudo visudo -c").returncode == 0
