"""Sudoers classes checked one by one against the real sudo 1.9.13p3 (Debian 12) and 1.9.16p2
(Debian 13) in the lab containers; each test encodes the answer both gave (tests/integration/
sudo_oracle.py now generates these classes, so `make test` keeps asking sudo itself).

Users as in the oracle: alice (devs), bob (devs, ops), frank (primary group ops only).
"""

from __future__ import annotations

import calendar
import time

import pytest

from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import admin_privileges as AP
from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import root_equivalent as RE
from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import sudoers as S

HOST = S.HostInfo("web1.lab.example", ["10.88.0.5/16"])
ALICE = S.Account("alice", 2001, {"alice", "devs"}, {2001, 3001})
BOB = S.Account("bob", 2002, {"bob", "devs", "ops"}, {2002, 3001, 3002})


class Merged(S._NoFS):
    """The lab images' file identities (readlink -e there): /bin -> usr/bin, sh -> dash."""

    REAL = {
        "/bin": "/usr/bin",
        "/usr/bin": "/usr/bin",
        "/bin/sh": "/usr/bin/dash",
        "/usr/bin/sh": "/usr/bin/dash",
        "/bin/id": "/usr/bin/id",
        "/usr/bin/id": "/usr/bin/id",
        "/usr/bin/dash": "/usr/bin/dash",
    }

    def __init__(self, regex_canonical=None):
        self.regex_canonical = regex_canonical

    def realpath(self, path):
        return self.REAL.get(path)


def parse(files, paths=None):
    if isinstance(files, str):
        files = {"/etc/sudoers": files}
    return S.parse_file("/etc/sudoers", S.OverlayFS(files, paths or S._NoFS()))


def verdict(parsed, acct=ALICE, commands=(), now=None):
    return S.evaluate(parsed, acct, HOST, extra_commands=commands, now=now)


def allowed(parsed, command, acct=ALICE, now=None):
    return command in verdict(parsed, acct, [command], now)["commands"]


DROP = {"/etc/sudoers.d/10": "alice ALL=(ALL) ALL\n"}


# ----------------------------------------------------------------------------- includes


@pytest.mark.parametrize(
    ("directive", "read"),
    [
        ("#includedir /etc/sudoers.d\n", True),
        ("#includedir\t/etc/sudoers.d\n", True),
        ("  @includedir /etc/sudoers.d\n", True),
        ("#includedir /etc/sudoers.d # keep\n", True),  # was: path '/etc/sudoers.d # keep', dir missed
        ('@includedir "/etc/sudoers.d"\n', True),
        ("# includedir /etc/sudoers.d\n", False),
        ("  #includedir /etc/sudoers.d\n", False),  # was: read (sudo: an indented '#' is a comment)
        ("#includedir/etc/sudoers.d\n", False),
    ],
)
def test_include_directives_as_sudo_reads_them(directive, read):
    v = verdict(parse({"/etc/sudoers": directive, **DROP}))
    assert v["all"] is read


def test_include_with_trailing_words_is_an_error_but_still_followed():
    p = parse({"/etc/sudoers": "@includedir /etc/sudoers.d foo\n", **DROP})
    assert verdict(p)["all"] is True  # sudo: syntax error, and alice may run ALL
    assert any("foo" in e["error"] for e in p["errors"])


# ----------------------------------------------------------------------------- NOTBEFORE / NOTAFTER

NOW = calendar.timegm((2026, 12, 1, 10, 0, 0))


def stamp(hours, fmt="%Y%m%d%H%M%SZ"):
    return time.strftime(fmt, time.gmtime(NOW + hours * 3600))


@pytest.mark.parametrize(
    ("options", "granted"),
    [
        ("NOTAFTER=%s" % stamp(-1), False),
        ("NOTBEFORE=%s" % stamp(2), False),
        ("NOTBEFORE=%s NOTAFTER=%s" % (stamp(-2), stamp(2)), True),
        ("NOTBEFORE=%s NOTAFTER=%s" % (stamp(1), stamp(3)), False),
        ("NOTAFTER=%s" % stamp(-1, "%Y%m%d%HZ"), False),
        ("NOTAFTER=%s.5Z" % stamp(-1, "%Y%m%d%H%M%S"), False),
        ("NOTAFTER=%s+0900" % stamp(8, "%Y%m%d%H%M%S"), False),  # 8 h ahead in +09:00 = 1 h ago
        ("NOTAFTER=%s" % stamp(2), True),
        ("TIMEOUT=5m CWD=/ NOTAFTER=%s" % stamp(2), True),
    ],
)
def test_time_windows_as_sudo_applies_them(options, granted):
    p = parse("alice ALL=(ALL) %s NOPASSWD: ALL\n" % options)
    v = verdict(p, now=NOW)
    assert v["any"] is True  # sudo -l -U lists the rule either way
    assert v["all"] is granted and v["nopasswd_all"] is granted
    entry = next(e for e in p["entries"] if e["kind"] == "userspec")
    al = S.aliases_of(p["entries"])
    assert S.entry_reaches_root(entry, al, HOST, now=NOW) is granted
    assert bool(S.root_grants(p, [ALICE], HOST, now=NOW)) is granted


def test_time_window_carries_over_and_an_expired_negation_denies_nothing():
    p = parse(
        "alice ALL=(ALL) NOTAFTER=%s /usr/bin/id, /bin/sh\nbob ALL=(ALL) ALL, (root) NOTAFTER=%s !/bin/sh\n"
        % (stamp(-1), stamp(-1))
    )
    assert not allowed(p, "/usr/bin/id", now=NOW) and not allowed(p, "/bin/sh", now=NOW)
    assert allowed(p, "/bin/sh", BOB, now=NOW)  # sudo 1.9.13 and 1.9.16: allowed


def test_unreadable_time_counts_as_valid_and_says_so():
    p = parse("alice ALL=(ALL) NOTAFTER=yesterday ALL\n")
    assert verdict(p, now=NOW)["all"] is True
    assert any("NOTAFTER=yesterday" in a["assumption"] for a in p["assumptions"])


# ----------------------------------------------------------------------------- commands


def test_empty_argument_string_allows_the_command_without_arguments_only():
    p = parse('alice ALL=(root) /usr/bin/id ""\n')
    assert p["errors"] == []  # was: a parse error, and the grant vanished (a false PASS)
    assert allowed(p, "/usr/bin/id") and not allowed(p, "/usr/bin/id -u")


@pytest.mark.parametrize(
    ("rule", "yes", "no"),
    [
        ("^/usr/bin/(id|less)$", ["/usr/bin/id", "/usr/bin/less"], ["/usr/bin/find", "/bin/sh"]),
        ("^/usr/bin/(id|less)$, /usr/bin/find", ["/usr/bin/id", "/usr/bin/find"], ["/usr/bin/journalctl"]),
        ("^/usr/bin/[a-j]+$", ["/usr/bin/id"], ["/usr/bin/less"]),
        ("^/usr/bin/[[:alpha:]]+$", ["/usr/bin/find"], []),
        ("^/usr/bin/i{1}d$", ["/usr/bin/id"], []),
        ("^/usr/(local/)?s?bin/.*$", ["/usr/bin/find", S.PROBE], []),
        ("/usr/bin/systemctl ^restart (nginx|apache2)$", ["/usr/bin/systemctl restart nginx"], ["/usr/bin/id"]),
        ("/usr/bin/systemctl ^restart (nginx\\,x|y)$", [], ["/usr/bin/systemctl restart nginx"]),
        ("ALL, !^/usr/bin/(id|find)$", ["/usr/bin/less", S.PROBE], ["/usr/bin/id", "/usr/bin/find"]),
    ],
)
def test_regular_expression_commands(rule, yes, no):
    p = parse("alice ALL=(root) %s\n" % rule)
    assert p["errors"] == []  # was: "unexpected '('": the grant vanished
    for c in yes:
        assert allowed(p, c), c
    for c in no:
        assert not allowed(p, c), c


def test_regular_expression_in_a_cmnd_alias():
    p = parse("Cmnd_Alias RC = ^/usr/bin/(id|find)$\nalice ALL=(root) RC\n")
    assert allowed(p, "/usr/bin/id") and allowed(p, "/usr/bin/find") and not allowed(p, "/usr/bin/less")


@pytest.mark.parametrize(
    ("canonical", "bin_sh"), [(False, False), (True, True), (None, True)]
)  # 1.9.13: no; 1.9.16: yes; unknown: the grant
def test_regex_against_the_canonical_directory_by_release(canonical, bin_sh):
    p = parse("alice ALL=(root) ^/usr/bin/sh$\n", Merged(canonical))
    assert allowed(p, "/usr/bin/sh") and allowed(p, "/bin/sh") is bin_sh
    assert not allowed(parse("alice ALL=(root) ^/bin/sh$\n", Merged(canonical)), "/usr/bin/sh")


def test_a_regex_this_module_cannot_translate_leans_to_the_grant_and_says_why():
    p = parse("alice ALL=(root) ^/usr/bin/\\<id$\nbob ALL=(root) ALL, !^/usr/bin/\\<id$\n")
    assert allowed(p, "/usr/bin/less")  # taken to match where it grants
    assert allowed(p, "/usr/bin/id", BOB)  # and not to match where it would deny
    assert any("regular expression" in a["assumption"] for a in p["assumptions"])


def test_regex_grants_are_root_paths_and_root_equivalent():
    v = verdict(parse("alice ALL=(root) ^/usr/bin/(id|less)$\n"))
    assert "^/usr/bin/(id|less)$" in v["commands"]
    assert RE.classify("^/usr/bin/(id|less)$")[0] == "root_equivalent"
    assert RE.classify("/usr/bin/systemctl ^restart .*$")[0] == RE.classify("/usr/bin/systemctl")[0]


@pytest.mark.parametrize(
    ("rule", "command", "sudo"),
    [
        ("/usr/bin/*", "/bin/sh", True),  # glob, then the same file under /usr/bin
        ("/usr/bin/s*", "/bin/sh", True),
        ("/bin/i*", "/usr/bin/id", True),
        ("/usr/bin/sh", "/bin/sh", True),
        ("/usr/bin/dash", "/bin/sh", False),  # same file, other base name: sudo says no
        ("/usr/bin/", "/bin/sh", True),
        ("ALL, !/usr/bin/sh", "/bin/sh", False),
    ],
)
def test_commands_match_by_file_identity_as_sudo_does(rule, command, sudo):
    p = parse("alice ALL=(root) %s\n" % rule, Merged())
    assert allowed(p, command) is sudo


def test_list_pseudo_command_lists_but_grants_nothing_as_root():
    p = parse("alice ALL = list\n")
    v = verdict(p, commands=["/usr/bin/id"])
    assert v["any"] is True and v["all"] is False and v["commands"] == {}
    entry = next(e for e in p["entries"] if e["kind"] == "userspec")
    assert not S.entry_reaches_root(entry, S.aliases_of(p["entries"]), HOST)  # was: an unapproved root grant
    assert S.root_grants(p, [ALICE], HOST) == []


@pytest.mark.parametrize(
    "text",
    [
        "alice ALL=(ALL) ALL, \\\n@includedir /etc/sudoers.d\n",  # sudo: invalid line continuation
        "alice ALL=(ALL) ALL \\@includedir /etc/sudoers.d\n",
        "alice ALL=(ALL) /usr/bin/id #2003\n",
        "alice ALL=(ALL) ALL \\\n",  # a continuation into the end of the file: sudo, syntax error
    ],
)
def test_command_grammar_errors_drop_the_statement(text):
    p = parse(text)
    assert p["errors"] and not verdict(p, commands=["/usr/bin/id"])["any"]


# ----------------------------------------------------------------------------- CRLF and error recovery


@pytest.mark.parametrize(
    ("text", "any_", "commands"),
    [
        ("alice ALL=(ALL) /usr/bin/id\r\n", False, []),
        ("alice ALL=(ALL) /usr/bin/id \r\n", False, []),
        ("alice ALL=(ALL) ALL\r\n", True, ["/usr/bin/id", "/usr/bin/less", "/usr/bin/systemctl restart nginx"]),
        ("Cmnd_Alias C = /usr/bin/id\nalice ALL=(ALL) C\r\n", True, ["/usr/bin/id"]),
        ("alice ALL = /usr/bin/id : ALL = /usr/bin/less\r\n", True, ["/usr/bin/id"]),
        ("Cmnd_Alias A = /usr/bin/id : B = /usr/bin/less\r\nalice ALL = A\n", True, ["/usr/bin/id"]),
        ("alice ALL = /usr/bin/less, \\\r\n /usr/bin/id\n", True, ["/usr/bin/id", "/usr/bin/less"]),
        ("alice ALL = /usr/bin/systemctl ^restart (nginx|x)$\r\n", True, ["/usr/bin/systemctl restart nginx"]),
        (
            "Defaults !lecture\r\nHost_Alias H = web1\r\nalice H=(ALL) ALL\n",
            True,
            ["/usr/bin/id", "/usr/bin/less", "/usr/bin/systemctl restart nginx"],
        ),
    ],
)
def test_crlf_lines_as_sudo_recovers_them(text, any_, commands):
    asked = ["/usr/bin/id", "/usr/bin/less", "/usr/bin/systemctl restart nginx"]
    v = verdict(parse(text), commands=asked)
    assert v["any"] is any_
    assert sorted(v["commands"]) == sorted(commands)


def test_alias_line_keeps_definitions_before_a_syntax_error():
    p = parse("User_Alias UA = alice : UB = = bob\nUA ALL = ALL\n")
    assert p["errors"] and verdict(p)["all"] is True  # was: UA lost, alice's ALL missed


def test_userspec_with_a_syntax_error_in_a_later_part_is_dropped_whole():
    assert verdict(parse("alice ALL = /usr/bin/id : ALL = = ALL\n"), commands=["/usr/bin/id"])["any"] is False


# ----------------------------------------------------------------------------- users


def test_netgroup_is_assumed_where_it_grants_never_where_it_denies():
    p = parse("+admins ALL=(ALL) ALL\nbob ALL=(ALL) ALL\n")
    assert verdict(p)["all"] is True  # sudo (no netgroup source): no; the module cannot know
    assert any("+admins" in a["assumption"] for a in p["assumptions"])
    p = parse("ALL, !+admins ALL=(root) /usr/bin/id\nalice ALL, !+web = (root) /usr/bin/less\n")
    assert allowed(p, "/usr/bin/id", S.Account("dave", 2004, {"dave"}, {2004}))  # sudo: allowed
    assert allowed(p, "/usr/bin/less")


def test_primary_group_counts_for_group_and_gid_items():
    accts, _u, _g = AP.accounts_from([("frank", 2006, 3002)], [("ops", 3002, []), ("devs", 3001, ["alice"])])
    frank = accts[0]
    for rule in ("%ops ALL=(ALL) ALL\n", "%#3002 ALL=(ALL) ALL\n"):
        assert verdict(parse(rule), frank)["all"] is True
    assert verdict(parse("%devs ALL=(ALL) ALL\n"), frank)["all"] is False


def test_quoted_and_escaped_names():
    p = parse('"alice" ALL=(ALL) ALL\nUser_Alias U = "bob", c\\arol\nU ALL=(ALL) ALL\n')
    assert verdict(p)["all"] and verdict(p, BOB)["all"]
    p = parse("Cmnd_Alias C0 = /usr/bin/systemctl restart a\\,b, /usr/bin/id\nalice ALL=(root) C0\n")
    assert allowed(p, "/usr/bin/id") and allowed(p, "/usr/bin/systemctl restart a,b")
