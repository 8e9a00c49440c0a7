"""The sudoers parser over a corpus of real-world syntax, includes and a hypothesis fuzz run."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import sudoers as S

A = S.Account

# Debian 12's /etc/sudoers as shipped (comments trimmed).
DEBIAN = """\
#
# This file MUST be edited with the 'visudo' command as root.
Defaults\tenv_reset
Defaults\tmail_badpass
Defaults\tsecure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
Defaults\tuse_pty

# User privilege specification
root\tALL=(ALL:ALL) ALL

# Allow members of group sudo to execute any command
%sudo\tALL=(ALL:ALL) ALL

# See sudoers(5) for more information on "@include" directives:

@includedir /etc/sudoers.d
"""

# RHEL-style: wheel, Cmnd_Aliases with continuations, env_keep +=, !visiblepw, #includedir.
RHEL = """\
Cmnd_Alias NETWORKING = /sbin/route, /sbin/ifconfig, /bin/ping, /sbin/dhclient, \\
 /usr/bin/net, /sbin/iptables, /usr/bin/rfcomm, /usr/bin/wvdial, /sbin/iwconfig, /sbin/mii-tool
Cmnd_Alias SOFTWARE = /bin/rpm, /usr/bin/up2date, /usr/bin/yum
Defaults   !visiblepw
Defaults    always_set_home
Defaults    env_keep =  "COLORS DISPLAY HOSTNAME HISTSIZE KDEDIR LS_COLORS"
Defaults    env_keep += "MAIL PS1 PS2 QTDIR USERNAME LANG LC_ADDRESS LC_CTYPE"
Defaults    secure_path = /sbin:/bin:/usr/sbin:/usr/bin
root\tALL=(ALL) \tALL
%wheel\tALL=(ALL)\tALL
# %wheel\tALL=(ALL)\tNOPASSWD: ALL
%sys ALL = NETWORKING, SOFTWARE
#includedir /etc/sudoers.d
"""

# The EXAMPLES section of sudoers(5), abridged.
MANPAGE = """\
User_Alias\tFULLTIMERS = millert, mikef, dowdy
User_Alias\tPARTTIMERS = bostley, jwfox, crawl
User_Alias\tWEBADMIN = will, wendy, wim
Runas_Alias\tOP = root, operator
Runas_Alias\tDB = oracle, sybase
Runas_Alias\tADMINGRP = adm, oper
Host_Alias\tSPARC = bigtime, eclipse, moet, anchor :\\
\t\tSGI = grolsch, dandelion, black :\\
\t\tALPHA = widget, thalamus, foobar :\\
\t\tHPPA = boa, nag, python
Host_Alias\tCUNETS = 128.138.0.0/255.255.0.0
Host_Alias\tCSNETS = 128.138.243.0, 128.138.204.0/24, 128.138.242.0
Host_Alias\tSERVERS = primary, mail, www, ns
Host_Alias\tCDROM = orion, perseus, hercules
Cmnd_Alias\tDUMPS = /usr/bin/mt, /usr/sbin/dump, /usr/sbin/rdump,\\
\t\t\t/usr/sbin/restore, /usr/sbin/rrestore,\\
\t\t\tsha224:0GomF8mNN3wlDt1HD9XldjJ3SNgpFdbjO1+NsQ== \\
\t\t\t/home/operator/bin/start_backups
Cmnd_Alias\tKILL = /usr/bin/kill
Cmnd_Alias\tPRINTING = /usr/sbin/lpc, /usr/bin/lprm
Cmnd_Alias\tSHUTDOWN = /usr/sbin/shutdown
Cmnd_Alias\tHALT = /usr/sbin/halt
Cmnd_Alias\tREBOOT = /usr/sbin/reboot
Cmnd_Alias\tSHELLS = /usr/bin/sh, /usr/bin/csh, /usr/bin/ksh,\\
\t\t\t /usr/local/bin/tcsh, /usr/bin/rsh,\\
\t\t\t /usr/local/bin/zsh
Cmnd_Alias\tSU = /usr/bin/su
Cmnd_Alias\tPAGERS = /usr/bin/more, /usr/bin/pg, /usr/bin/less
Defaults\t\tsyslog=auth
Defaults>root\t\t!set_logname
Defaults:FULLTIMERS\t!lecture
Defaults:millert\t!authenticate
Defaults@SERVERS\tlog_year, logfile=/var/log/sudo.log
Defaults!PAGERS\t\tnoexec
root\t\tALL = (ALL) ALL
%wheel\t\tALL = (ALL) ALL
FULLTIMERS\tALL = NOPASSWD: ALL
PARTTIMERS\tALL = ALL
jack\t\tCSNETS = ALL
lisa\t\tCUNETS = ALL
operator\tALL = DUMPS, KILL, SHUTDOWN, HALT, REBOOT, PRINTING,\\
\t\tsudoedit /etc/printcap, /usr/oper/bin/
joe\t\tALL = /usr/bin/su operator
pete\t\tHPPA = /usr/bin/passwd [A-Za-z]*, !/usr/bin/passwd *root*
bob\t\tSPARC = (OP) ALL : SGI = (OP) ALL
jim\t\t+biglab = ALL
+secretaries\tALL = PRINTING, /usr/bin/adduser, /usr/bin/rmuser
fred\t\tALL = (DB) NOPASSWD: ALL
john\t\tALPHA = /usr/bin/su [!-]*, !/usr/bin/su *root*
jen\t\tALL, !SERVERS = ALL
jill\t\tSERVERS = /usr/bin/, !SU, !SHELLS
steve\t\tCSNETS = (operator) /usr/local/op_commands/
matt\t\tvalkyrie = KILL
WEBADMIN\twww = (www) ALL, (root) /usr/bin/su www
ALL\t\tCDROM = NOPASSWD: /sbin/umount /CDROM,\\
\t\t/sbin/mount -o nosuid\\,nodev /dev/cd0a /CDROM
"""


def acct(name, uid=1000, groups=()):
    return A(name, uid, set(groups) | {name}, {uid})


def summary(text, accounts):
    parsed = S.parse_text(text)
    assert parsed["errors"] == [], parsed["errors"]
    return S.summarize(S.root_grants(parsed, accounts))


@pytest.mark.control("6-6.sudoers_grants")
def test_debian_default_root_and_sudo_group():
    got = summary(DEBIAN, [A("root", 0, {"root"}, {0}), acct("alice", groups=["sudo"]), acct("eve")])
    assert set(got) == {"root", "alice"}
    assert got["alice"] == {"all": True, "nopasswd_all": False, "commands": [], "sources": ["/etc/sudoers:12"]}
    parsed = S.parse_text(DEBIAN)
    assert [e["kind"] for e in parsed["entries"]].count("defaults") == 4
    assert parsed["entries"][-1]["kind"] == "includedir" and parsed["entries"][-1]["target"] == "/etc/sudoers.d"


@pytest.mark.control("6-6.sudoers_grants")
def test_rhel_wheel_aliases_and_commented_nopasswd():
    got = summary(RHEL, [acct("w", groups=["wheel"]), acct("s", groups=["sys"])])
    assert got["w"]["all"] and not got["w"]["nopasswd_all"]  # the NOPASSWD line is a comment
    assert not got["s"]["all"]
    assert "/sbin/iptables" in got["s"]["commands"] and "/usr/bin/yum" in got["s"]["commands"]


@pytest.mark.control("6-6.sudoers_grants")
def test_manpage_examples():
    names = ["millert", "bostley", "jack", "lisa", "operator", "joe", "pete", "bob", "jim", "fred"]
    names += ["john", "jen", "jill", "steve", "matt", "will", "nobodyelse"]
    accounts = [acct(n, 1000 + i) for i, n in enumerate(names)]
    got = summary(MANPAGE, accounts)
    full = {u for u, s in got.items() if s["all"]}
    # Host lists are assumed to match (conservative), so CSNETS/SPARC grants count.
    assert full == {"millert", "bostley", "jack", "lisa", "bob", "jim", "jen"}
    assert got["millert"]["nopasswd_all"] and not got["bostley"]["nopasswd_all"]
    # Runas other than root: no root privilege from those lines.
    assert not got["fred"]["all"] and "/usr/local/op_commands/" not in got["steve"]["commands"]
    # Every user still gets the netgroup and 'ALL CDROM' commands (netgroups assumed to match).
    assert "/usr/bin/adduser" in got["fred"]["commands"]
    assert "/usr/bin/su www" in got["will"]["commands"] and not got["will"]["all"]
    assert "/usr/bin/su operator" in got["joe"]["commands"]
    assert "/usr/sbin/dump" in got["operator"]["commands"] and "sudoedit /etc/printcap" in got["operator"]["commands"]
    assert "/home/operator/bin/start_backups" in got["operator"]["commands"]  # behind a digest
    # The negated command grants nothing.
    assert "/usr/bin/passwd [A-Za-z]*" in got["pete"]["commands"]
    assert "/usr/bin/passwd *root*" not in got["pete"]["commands"]
    # 'ALL CDROM = ...' gives every user the mount commands (escaped comma kept in the args).
    assert "/sbin/mount -o nosuid,nodev /dev/cd0a /CDROM" in got["nobodyelse"]["commands"]
    defaults = [e for e in S.parse_text(MANPAGE)["entries"] if e["kind"] == "defaults"]
    assert [d["binding"] for d in defaults] == ["", ">", ":", ":", "@", "!"]


@pytest.mark.control("6-6.sudoers_grants")
def test_user_items_uid_gid_nonunix_group_and_negation_last_match_wins():
    text = "\n".join(
        [
            "#1001 ALL=(ALL) ALL",
            "%#2000 ALL=(root) /bin/a",
            "%:ops ALL=ALL",
            "User_Alias ADM = %staff, !mallory",
            "ADM ALL=(ALL:ALL) ALL",
            "ALL, !eve ALL=(root) /bin/b",
            "!eve, ALL ALL=(root) /bin/c",
        ]
    )
    accts = [
        A("u1001", 1001, {"u1001"}, {1001}),
        A("g", 1002, {"g"}, {1002, 2000}),
        A("o", 1003, {"ops"}, {1003}),
        A("st", 1004, {"staff"}, {1004}),
        A("mallory", 1005, {"staff"}, {1005}),
        A("eve", 1006, {"eve"}, {1006}),
    ]
    got = summary(text, accts)
    # '%:ops' is a non-Unix group: without a group_plugin the real sudo matches nobody with it
    # (tests/integration/sudo_oracle.py found this); with one, membership is assumed.
    assert got["u1001"]["all"] and not got["o"]["all"] and got["st"]["all"]
    assert summary('Defaults group_plugin="group_file.so /etc/sudo-group"\n' + text, accts)["o"]["all"]
    assert not got["mallory"]["all"]  # excluded in the alias
    assert got["g"]["commands"][0] == "/bin/a"
    assert got["eve"]["commands"] == ["/bin/c"]  # !eve then ALL: the last match (ALL) wins


@pytest.mark.control("6-6.sudoers_grants")
def test_negated_alias_that_denies_a_user_matches_that_user():
    # Found by the differential fuzz against the real sudo (tests/vm): FZADM denies fzb, so
    # '!FZADM' allows fzb (sudo negates the alias's verdict), and fza stays excluded.
    text = "User_Alias FZADM = fza, !fzb\n!FZADM ALL = (ALL:ALL) !ALL, NOPASSWD: /bin/sh\n"
    got = summary(text, [acct("fza", 2001), acct("fzb", 2002), acct("other", 2003)])
    assert set(got) == {"fzb"} and got["fzb"]["commands"] == ["/bin/sh"]


@pytest.mark.control("6-6.sudoers_grants")
def test_runas_forms_and_tag_carry_over():
    text = "\n".join(
        [
            "a ALL=(:wheel) ALL",  # group only: runs as the invoking user
            "b ALL=(operator) ALL, (root) NOPASSWD: /bin/x, /bin/y, PASSWD: /bin/z",
            "c ALL=(ALL) CWD=* TIMEOUT=5m NOPASSWD: ALL",
            "Runas_Alias R = !root, ALL",
            "d ALL=(R) ALL",
            "e ALL=NOPASSWD:SETENV: ALL, PASSWD: /bin/ls",
        ]
    )
    got = summary(text, [acct(n, 1000 + i) for i, n in enumerate("abcde")])
    assert "a" not in got
    assert got["b"] == {
        "all": False,
        "nopasswd_all": False,
        "commands": ["/bin/x", "/bin/y", "/bin/z"],
        "sources": ["/etc/sudoers:2"],
    }
    grants = S.root_grants(S.parse_text(text), [acct("b")])
    assert grants[0]["nopasswd"]
    assert got["c"]["nopasswd_all"]
    assert got["d"]["all"]  # ALL after !root: last match wins, root is reachable
    assert got["e"]["nopasswd_all"]


@pytest.mark.control("6-6.sudoers_grants")
def test_comments_quotes_escapes_and_continuations():
    text = (
        'Defaults lecture_file="/etc/a # not a comment"\n'
        "alice ALL=(ALL) ALL # trailing comment\n"
        "# bob ALL=(ALL) ALL\n"
        "carol ALL = (root) /bin/echo a\\:b, \\\n"
        "   /bin/true\n"
        '"dave" ALL=(ALL) ALL\n'
    )
    parsed = S.parse_text(text)
    assert parsed["errors"] == []
    specs = [e for e in parsed["entries"] if e["kind"] == "userspec"]
    assert [(e["line"], e["end_line"]) for e in specs] == [(2, 2), (4, 5), (6, 6)]
    got = S.summarize(S.root_grants(parsed, [acct("alice"), acct("bob"), acct("carol"), acct("dave")]))
    assert set(got) == {"alice", "carol", "dave"}
    assert got["carol"]["commands"] == ["/bin/echo a:b", "/bin/true"]


@pytest.mark.control("6-6.sudoers_grants")
def test_includes_dirs_relative_paths_skipped_names_and_loops():
    fs = S.OverlayFS(
        {
            "/etc/sudoers": "@include sudoers.local\n#includedir /etc/sudoers.d\n",
            "/etc/sudoers.local": "a ALL=(ALL) ALL\n#include /etc/sudoers.local\n",
            "/etc/sudoers.d/20-b": "b ALL=(ALL) NOPASSWD: ALL\n",
            "/etc/sudoers.d/10-c": "c ALL=(ALL) ALL\n",
            "/etc/sudoers.d/skip.conf": "x ALL=(ALL) ALL\n",
            "/etc/sudoers.d/skip~": "y ALL=(ALL) ALL\n",
        },
        base=S._NoFS(),
    )
    parsed = S.parse_file("/etc/sudoers", fs)
    assert parsed["files"] == ["/etc/sudoers", "/etc/sudoers.local", "/etc/sudoers.d/10-c", "/etc/sudoers.d/20-b"]
    assert parsed["dropins"] == ["/etc/sudoers.d/10-c", "/etc/sudoers.d/20-b"]
    assert any("loop" in e["error"] for e in parsed["errors"])
    got = S.summarize(S.root_grants(parsed, [acct(n) for n in "abcxy"]))
    assert set(got) == {"a", "b", "c"}
    assert got["b"]["sources"] == ["/etc/sudoers.d/20-b:1"] and got["b"]["nopasswd_all"]


@pytest.mark.control("6-6.sudoers_grants")
def test_overlay_deletion_hides_a_dropin():
    base = S.OverlayFS({"/etc/sudoers": "#includedir /etc/sudoers.d\n", "/etc/sudoers.d/a": "a ALL=ALL\n"}, S._NoFS())
    after = S.OverlayFS({"/etc/sudoers.d/a": None}, base=base)
    assert S.parse_file("/etc/sudoers", after)["files"] == ["/etc/sudoers"]


@pytest.mark.control("6-6.sudoers_grants")
def test_syntax_errors_are_reported_with_location_not_raised():
    parsed = S.parse_text("alice ALL=(ALL ALL\nbob\nUser_Alias lower = x\ncarol ALL=(ALL) ALL\n")
    assert [e["line"] for e in parsed["errors"]] == [1, 2, 3]
    assert S.summarize(S.root_grants(parsed, [acct("carol")]))["carol"]["all"]


# ---------------------------------------------------------------------------- fuzz

USERS = ["alice", "bob", "root", "%sudo", "%#27", "#1000", "ALL", "ADMINS", "+ng"]
CMDS = ["ALL", "/bin/ls", "/usr/bin/id -u", "SHELLS", "sudoedit /etc/hosts"]
RUNAS = ["", "(ALL)", "(ALL:ALL)", "(root)", "(operator)", "(:adm)", "(OP)", "(!root, ALL)", "(ALL, !root)"]
TAGS = ["", "NOPASSWD: ", "PASSWD: ", "NOPASSWD: SETENV: ", "NOEXEC: "]


@st.composite
def user_spec(draw):
    users = draw(st.lists(st.tuples(st.booleans(), st.sampled_from(USERS)), min_size=1, max_size=3))
    ulist = ", ".join(("!" if neg else "") + u for neg, u in users)
    if all(neg for neg, _ in users):
        ulist = "ALL, " + ulist
    cmds = draw(
        st.lists(
            st.tuples(st.sampled_from(RUNAS), st.sampled_from(TAGS), st.booleans(), st.sampled_from(CMDS)),
            min_size=1,
            max_size=3,
        )
    )
    clist = ", ".join("%s %s%s%s" % (r, t, "!" if neg else "", c) for r, t, neg, c in cmds)
    return "%s ALL = %s" % (ulist, clist)


PREAMBLE = "User_Alias ADMINS = alice, %sudo\nRunas_Alias OP = root, operator\nCmnd_Alias SHELLS = /bin/sh, /bin/bash\n"
sudoers_files = st.lists(user_spec(), min_size=1, max_size=6).map(lambda specs: PREAMBLE + "\n".join(specs) + "\n")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=string.printable + "\u3042\x00", max_size=300))
def test_fuzz_arbitrary_text_never_crashes(text):
    parsed = S.parse_text(text)
    S.root_grants(parsed, [acct("alice"), A("root", 0, {"root"}, {0})])
    for e in parsed["errors"]:
        assert e["line"] >= 1


@settings(max_examples=300, deadline=None)
@given(sudoers_files)
@pytest.mark.control("6-6.sudoers_grants")
def test_fuzz_generated_sudoers_parse_and_plain_all_grants_are_seen(text):
    parsed = S.parse_text(text)
    assert parsed["errors"] == []
    got = S.summarize(S.root_grants(parsed, [acct("alice", 1000, ["sudo"]), acct("bob", 1001)]))
    for first, last, line in S.logical_lines(text):
        # Whatever else a line says, 'bob ... = (root) ALL' or '= ALL' with bob named
        # positively and not negated later must show bob with ALL.
        if line.startswith("bob ALL = ") and ", " not in line and line.endswith((" ALL", "(root) ALL")):
            if "!ALL" not in line and "(:adm)" not in line and "(operator)" not in line:
                assert got["bob"]["all"], (first, last, line)
