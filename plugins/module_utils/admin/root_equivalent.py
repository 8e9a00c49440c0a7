# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Commands that give a root shell or root file writes when sudo runs them: data and a classifier.

Each entry of ``COMMANDS`` is keyed by the command's base name and says how it reaches root
(in our own words), whether sudo's ``NOEXEC`` stops that (it blocks ``execve`` from the
command, so a shell escape fails, but not a file the command writes itself), whether fixed
arguments in the grant stop it (the escape needs arguments the user chooses, or not), and a
source for the fact. Sources: GTFOBins (https://gtfobins.github.io/, the "Sudo" section of
each page) and sudoers(5) (NOEXEC, sudoedit). Facts only; no code was taken.

A grant is ``root_equivalent`` when the command is listed and none of the constraints that
stop it is present; otherwise ``limited``. ``sudoedit`` is limited unless it may edit a file
that itself grants root (sudoers, passwd, shadow, cron, systemd units, or any file by glob).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

_G = "https://gtfobins.github.io/gtfobins/%s/#sudo"

# kind: shell (is or starts a shell/any command by design), exec (runs a user-chosen command
# through an option or a shell escape), pager (opens a pager that has a '!command' escape),
# write (writes or changes any file as root).
# noexec: NOEXEC stops it. fixed: fixed arguments in the grant stop it.
COMMANDS = {
    # shells and command runners: any argument list is a command line
    "sh": ("shell", False, False, "is a shell", _G % "sh"),
    "bash": ("shell", False, False, "is a shell", _G % "bash"),
    "dash": ("shell", False, False, "is a shell", _G % "dash"),
    "zsh": ("shell", False, False, "is a shell", _G % "zsh"),
    "ksh": ("shell", False, False, "is a shell", _G % "ksh"),
    "csh": ("shell", False, False, "is a shell", _G % "csh"),
    "tcsh": ("shell", False, False, "is a shell", _G % "tcsh"),
    "fish": ("shell", False, False, "is a shell", _G % "fish"),
    "su": ("shell", False, False, "switches to any user, root by default, with a shell", _G % "su"),
    "sudo": ("shell", False, False, "runs any command allowed to root", "sudoers(5)"),
    "runuser": ("shell", False, False, "runs a shell as any user", "runuser(1)"),
    "env": ("exec", False, True, "runs the command given as its argument", _G % "env"),
    "nice": ("exec", False, True, "runs the command given as its argument", _G % "nice"),
    "timeout": ("exec", False, True, "runs the command given as its argument", _G % "timeout"),
    "xargs": ("exec", False, True, "runs the command given as its argument", _G % "xargs"),
    "nohup": ("exec", False, True, "runs the command given as its argument", _G % "nohup"),
    "stdbuf": ("exec", False, True, "runs the command given as its argument", _G % "stdbuf"),
    "setsid": ("exec", False, True, "runs the command given as its argument", _G % "setsid"),
    "chroot": ("exec", False, True, "runs a shell inside the given root directory", _G % "chroot"),
    "script": ("exec", False, True, "starts a shell recording the session", _G % "script"),
    # interpreters: they also write files directly, so NOEXEC does not stop them
    "python": ("exec", False, True, "an interpreter: can spawn a shell or write any file", _G % "python"),
    "python3": ("exec", False, True, "an interpreter: can spawn a shell or write any file", _G % "python"),
    "perl": ("exec", False, True, "an interpreter: can spawn a shell or write any file", _G % "perl"),
    "ruby": ("exec", False, True, "an interpreter: can spawn a shell or write any file", _G % "ruby"),
    "lua": ("exec", False, True, "an interpreter: can spawn a shell or write any file", _G % "lua"),
    "php": ("exec", False, True, "an interpreter: can spawn a shell or write any file", _G % "php"),
    "node": ("exec", False, True, "an interpreter: can spawn a shell or write any file", _G % "node"),
    "awk": ("exec", False, True, "its system() runs a shell; its print > writes any file", _G % "awk"),
    "gawk": ("exec", False, True, "its system() runs a shell; its print > writes any file", _G % "gawk"),
    "mawk": ("exec", False, True, "its system() runs a shell; its print > writes any file", _G % "mawk"),
    # editors: ':!sh' (stopped by NOEXEC) and ':w /etc/sudoers' (not stopped); use sudoedit
    "vi": ("exec", False, False, "an editor: shell escape and writing any file", _G % "vi"),
    "vim": ("exec", False, False, "an editor: shell escape and writing any file", _G % "vim"),
    "nano": ("exec", False, False, "an editor: writes any file and runs commands (^R^X)", _G % "nano"),
    "ed": ("exec", False, False, "an editor: '!sh' and writing any file", _G % "ed"),
    "emacs": ("exec", False, False, "an editor: shell and writing any file", _G % "emacs"),
    # pagers and commands that open one: the pager's '!sh' escape (NOEXEC stops it)
    "less": ("pager", True, False, "a pager with the '!sh' escape", _G % "less"),
    "more": ("pager", True, False, "a pager with the '!sh' escape", _G % "more"),
    "man": ("pager", True, False, "opens a pager with the '!sh' escape", _G % "man"),
    "journalctl": ("pager", True, False, "opens less as root, whose '!sh' escape gives a shell", _G % "journalctl"),
    "systemctl": (
        "pager",
        True,
        False,
        "opens less as root (status, cat, list-*), and can start units that run any command",
        _G % "systemctl",
    ),
    "git": ("pager", True, False, "opens a pager as root; options run commands", _G % "git"),
    # command-running options: stopped by NOEXEC, or by fixed arguments without those options
    "find": ("exec", True, True, "-exec runs any command", _G % "find"),
    "tar": ("exec", True, True, "--checkpoint-action=exec runs any command; extracts over any file", _G % "tar"),
    "zip": ("exec", True, True, "-T -TT runs any command", _G % "zip"),
    "rsync": ("exec", False, True, "-e runs any command; copies over any file", _G % "rsync"),
    "ssh": ("exec", True, True, "ProxyCommand runs any command", _G % "ssh"),
    "scp": ("exec", True, True, "-S runs any command", _G % "scp"),
    "apt": ("exec", True, True, "apt's pre-invoke option and changelog pager run commands", _G % "apt"),
    "apt-get": ("exec", True, True, "apt's pre-invoke option and changelog pager run commands", _G % "apt-get"),
    "dpkg": ("exec", False, True, "installs a package whose scripts run as root", _G % "dpkg"),
    "mount": ("exec", False, True, "mounts over binaries or configuration", _G % "mount"),
    "crontab": ("exec", False, True, "-e opens an editor; root's crontab runs any command", _G % "crontab"),
    # writers: write or change any file (NOEXEC does not stop a write)
    "cp": ("write", False, True, "copies over any file (e.g. /etc/sudoers)", _G % "cp"),
    "mv": ("write", False, True, "moves over any file", _G % "mv"),
    "tee": ("write", False, True, "writes stdin to any file", _G % "tee"),
    "dd": ("write", False, True, "of= writes any file", _G % "dd"),
    "install": ("write", False, True, "installs over any file with any mode", _G % "install"),
    "ln": ("write", False, True, "links over any file", _G % "ln"),
    "chmod": ("write", False, True, "makes any file writable or setuid", _G % "chmod"),
    "chown": ("write", False, True, "gives any file to the user", _G % "chown"),
    "sed": ("write", False, True, "-i edits any file; 'e' runs commands", _G % "sed"),
    "visudo": ("write", False, True, "edits the sudoers policy itself", "sudoers(5)"),
    "passwd": ("write", False, True, "changes root's password when given 'root'", "passwd(1)"),
    "chpasswd": ("write", False, False, "changes any password from stdin", "chpasswd(8)"),
    "usermod": ("write", False, True, "adds the user to an admin group", "usermod(8)"),
    "gpasswd": ("write", False, True, "adds the user to an admin group", "gpasswd(1)"),
    "useradd": ("write", False, True, "creates a UID 0 account", "useradd(8)"),
}

# sudoedit targets that grant root by themselves.
_SENSITIVE_EDIT = re.compile(
    r"/etc/(?:sudoers(?:\.d/.*)?|passwd|shadow|group|gshadow|crontab|cron\..*/.*|cron\.d/.*|"
    r"systemd/.*|ssh/.*|profile(?:\.d/.*)?|bash\.bashrc|ld\.so\..*|pam\.d/.*|security/.*)|/root/.*"
)
_GLOB = re.compile(r"[*?\[\]]")


def classify(command, tags=(), noexec_default=False):
    """``(class, reason)`` of a grant of ``command`` as root.

    ``command`` is the command as written in sudoers (path and optional arguments, or
    ``ALL``); ``tags`` the rule's tags (``NOEXEC``...); ``noexec_default`` whether a
    ``Defaults!cmd noexec`` (or global ``noexec``) applies to it.
    """
    if command == "ALL":
        return "root", "ALL commands"
    path, _sep, args = command.strip().partition(" ")
    args = args.strip()
    if path == "sudoedit":
        files = args.split()
        bad = [f for f in files if _GLOB.search(f) or _SENSITIVE_EDIT.fullmatch(f)]
        if bad or not files:
            return "root_equivalent", "sudoedit may edit %s, which grants root" % (", ".join(bad) or "any file")
        return "limited", "sudoedit edits a copy as the user (sudoers(5))"
    if path.endswith("/"):
        return "root_equivalent", "a whole directory of commands (%s)" % path
    if path.startswith("^"):
        return "root_equivalent", "a regular expression (%s) can match a shell" % path
    base = path.rsplit("/", 1)[-1]
    if _GLOB.search(base):
        return "root_equivalent", "a wildcard command name (%s) can match a shell" % base
    key = base
    if key not in COMMANDS:
        m = re.fullmatch(r"(python|perl|ruby|lua|php)[0-9.]*", base)
        key = m.group(1) if m else key
    entry = COMMANDS.get(key)
    if entry is None:
        return "limited", "%s is not a known shell, pager, interpreter or file writer" % base
    _kind, noexec_stops, fixed_stops, how, source = entry
    noexec = ("NOEXEC" in tags or noexec_default) and "EXEC" not in tags
    fixed = bool(args) and not _GLOB.search(args) and not args.startswith("^")  # '^...$': a pattern
    if args == '""':
        fixed = True
    if noexec and noexec_stops:
        return "limited", "%s %s, but NOEXEC blocks it (source: %s)" % (base, how, source)
    if fixed and fixed_stops:
        return "limited", "%s %s, but the arguments are fixed (%s) (source: %s)" % (base, how, args, source)
    return "root_equivalent", "%s %s (source: %s)" % (base, how, source)
