# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse sudoers and everything it includes, and compute who can become root, how, from where.

Understood: ``#include``, ``#includedir`` (in column 0 only: indented, it is a comment),
``@include``, ``@includedir`` (relative paths are relative to the including file; the path is
one word, a ``#`` comment may follow; included directories skip names containing ``.`` or
ending in ``~``, in lexical order), line continuations, comments (``#`` not followed by a
digit), quoting and backslash escapes, ``Defaults`` lines (all bindings), the four alias
kinds, user items ``name``, ``%group``, ``%#gid``, ``#uid``, ``%:group``, ``+netgroup``,
``ALL``, negation (the last matching item of a list wins, as in sudo), runas specs
``(user:group)``, tags (``NOPASSWD:`` ...) and options (``CWD=`` ...) carried over to the
following commands, ``NOTBEFORE``/``NOTAFTER`` windows (a command outside its window neither
allows nor denies), digests, ``""`` (no arguments), ``^...$`` regular expressions (POSIX ERE,
for the path or the arguments), wildcards and directories compared by file identity as sudo
does (``/usr/bin/*`` allows ``/bin/sh`` on a merged ``/usr``), ``list`` (runs nothing as
root), several ``host = commands`` parts on one line. Syntax errors are recovered from as
sudo 1.9.13/1.9.16 do: the statement is dropped, except that the definitions before the
error on an alias line, and the parts before a command ended by a CRLF ``\r``, are kept.
Each behaviour was checked against the real sudo (tests/integration/sudo_oracle.py).

Host lists are evaluated as sudo does when a :class:`HostInfo` is given (this host's name as
``gethostname()`` returns it, its short name, its interface addresses): a grant for other
hosts only is no grant here. Without one (``host=None``) every host list matches. Conservative
where sudo depends on things a static read cannot know: ``runas_default`` is assumed to be
root, netgroups are assumed to contain the user and the host, IP items match when the host's
addresses are unknown, a regular expression beyond :func:`ere_to_python` matches where it
grants and not where it denies, an unreadable time window holds. So the result may
over-report privilege, never under-report it; each such assumption is listed in the parse
result's ``assumptions`` (file, line, why), which the findings carry as ``assumed``.

``Defaults`` that make sudo passwordless (``!authenticate`` globally, for a user, a host, a
runas user or a command) count like ``NOPASSWD``; an explicit ``PASSWD:``/``NOPASSWD:`` tag
on the command wins over them, as in sudo.

Pure Python, no Ansible imports; file access goes through a small ``fs`` object so that the
planner can re-parse a changed configuration in memory.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import fnmatch
import ipaddress
import os
import re
import time

TAGS = frozenset(
    (
        "NOPASSWD",
        "PASSWD",
        "NOEXEC",
        "EXEC",
        "SETENV",
        "NOSETENV",
        "LOG_INPUT",
        "NOLOG_INPUT",
        "LOG_OUTPUT",
        "NOLOG_OUTPUT",
        "MAIL",
        "NOMAIL",
        "FOLLOW",
        "NOFOLLOW",
        "INTERCEPT",
        "NOINTERCEPT",
    )
)
OPTIONS = frozenset(("CWD", "CHROOT", "ROLE", "TYPE", "TIMEOUT", "NOTBEFORE", "NOTAFTER", "APPARMOR_PROFILE", "PRIVS"))
OPTIONS_LIMIT = frozenset(("LIMITPRIVS",))
DIGESTS = frozenset(("sha224", "sha256", "sha384", "sha512"))
ALIAS_KINDS = {
    "User_Alias": "user",
    "Runas_Alias": "runas",
    "Host_Alias": "host",
    "Cmnd_Alias": "cmnd",
    "Cmd_Alias": "cmnd",
}
_ALIAS_NAME = re.compile(r"^[A-Z][A-Z0-9_]*\Z")
# '#include' only in column 0 (sudo reads '  #includedir x' as a comment); '@include' may be indented.
_INCLUDE = re.compile(r"^(?:#|[ \t]*@)(include|includedir)[ \t]+(.*?)[ \t]*\Z")
_DEFAULTS = re.compile(r"^\s*Defaults([:@!>])?")
MAX_DEPTH = 128  # sudo's own include nesting limit


class SudoersError(ValueError):
    """A syntax error; ``partial``: the statements sudo keeps from the line all the same."""

    def __init__(self, msg, partial=()):
        ValueError.__init__(self, msg)
        self.partial = list(partial)


class LocalFS:
    """File access on the running system (the default).

    ``realpath`` lets command matching see what sudo sees: sudo compares a rule's command with
    the one run by file identity when their base names are equal (``/usr/bin/sh`` in a rule
    allows ``/bin/sh`` where ``/bin`` links to ``usr/bin``). ``regex_canonical``: whether the
    sudo here also matches ``^...$`` commands against the command's canonical directory
    (1.9.16 does, 1.9.13 does not); None (unknown) takes both, which never hides a grant.
    """

    regex_canonical = None

    def realpath(self, path):
        return os.path.realpath(path) if os.path.exists(path) else None

    def read(self, path):
        with open(path, "rb") as fh:
            return fh.read().decode("utf-8", "replace")

    def listdir(self, path):
        return os.listdir(path)

    def isdir(self, path):
        return os.path.isdir(path)

    def exists(self, path):
        return os.path.exists(path)


class OverlayFS:
    """A LocalFS seen through in-memory changes: ``files`` {path: text or None (deleted)}."""

    def __init__(self, files, base=None):
        self.files = dict(files)
        self.base = base or LocalFS()
        self.regex_canonical = getattr(self.base, "regex_canonical", None)

    def realpath(self, path):
        return self.base.realpath(path)

    def read(self, path):
        if path in self.files:
            if self.files[path] is None:
                raise IOError("deleted: %s" % path)
            return self.files[path]
        return self.base.read(path)

    def listdir(self, path):
        names = set()
        if self.base.isdir(path):
            names.update(self.base.listdir(path))
        prefix = path.rstrip("/") + "/"
        for p, text in self.files.items():
            if p.startswith(prefix) and "/" not in p[len(prefix) :]:
                if text is None:
                    names.discard(p[len(prefix) :])
                else:
                    names.add(p[len(prefix) :])
        return sorted(names)

    def isdir(self, path):
        prefix = path.rstrip("/") + "/"
        return self.base.isdir(path) or any(p.startswith(prefix) for p in self.files)

    def exists(self, path):
        if path in self.files:
            return self.files[path] is not None
        return self.base.exists(path)


# ----------------------------------------------------------------------------- lexing


def logical_lines(text):
    """Yield (first_line, last_line, content) with comments removed and continuations joined."""
    for first, last, content, _cr in _logical_lines(text):
        yield first, last, content


def _logical_lines(text):
    """As :func:`logical_lines`, plus whether the statement's last line ends in a carriage return
    outside a comment (a CRLF file): sudo takes it as blank except right after a command; or
    "eof" when a continuation runs into the end of the file."""
    buf = []
    start = None
    lines = text.split("\n")
    for no, raw in enumerate(lines, 1):
        if buf and no == len(lines) and raw == "" and text.endswith("\n"):
            yield start, no - 1, " ".join(buf).strip(), "eof"
            return
        if start is None:
            start = no
        line, continued = _strip_comment(raw)
        if continued:
            buf.append(line[:-1])
            continue
        buf.append(line)
        content = " ".join(buf).strip()
        if content:
            yield start, no, content, _ends_in_cr(raw)
        buf = []
        start = None
    if buf:
        content = " ".join(buf).strip()
        if content:
            yield start, start + len(buf) - 1, content, False


def _ends_in_cr(raw):
    if not raw.rstrip(" \t").endswith("\r"):
        return False
    kept, _cont = _strip_comment(raw)
    return kept == raw.rstrip()  # no comment was cut off (the '\r' is not inside one)


def _strip_comment(raw):
    """Return (line without comment, whether it ends in a continuation backslash)."""
    if raw.startswith("#") and _INCLUDE.match(raw):
        return raw.rstrip(), False
    out = []
    i = 0
    quoted = False
    n = len(raw)
    while i < n:
        c = raw[i]
        if c == "\\" and i + 1 < n:
            out.append(raw[i : i + 2])
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c == "#" and not quoted:
            nxt = raw[i + 1 : i + 3]
            # '#123' is a uid and '%#123' a gid; anything else starts a comment.
            if not (nxt[:1].isdigit() or (nxt[:1] == "-" and nxt[1:2].isdigit())):
                return "".join(out).rstrip(), False
        out.append(c)
        i += 1
    line = "".join(out).rstrip()
    # A trailing backslash continues the line (but an escaped backslash '\\' does not).
    trail = len(line) - len(line.rstrip("\\"))
    return line, trail % 2 == 1


_SPECIAL = "(),:=!"
_IPV6_TOKEN = re.compile(r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:/[0-9]{1,3})?(?=[\s,=]|\Z)")


def tokenize(s):
    """Split a logical line into tokens: specials ( ) , : = ! and words (quotes/escapes kept)."""
    tokens = []
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c.isspace():
            i += 1
            continue
        m = _IPV6_TOKEN.match(s, i)
        if m and m.group(0).count(":") >= 2:
            # An IPv6 address (host lists) is one word although it contains ':'.
            tokens.append(m.group(0))
            i = m.end()
            continue
        if c in _SPECIAL:
            tokens.append(c)
            i += 1
            continue
        if c == "^":
            end = _regex_end(s, i)
            if end:
                # A regular expression (sudo 1.9.10+) is one word up to a '$' that ends a word;
                # it may hold blanks and ( ) | , and keeps its backslashes.
                tokens.append(s[i:end])
                i = end
                continue
        if s.startswith('""', i) and (i + 2 == n or s[i + 2].isspace() or s[i + 2] in ",:"):
            tokens.append('""')  # sudo's "no arguments allowed"
            i += 2
            continue
        word = []
        # Inside a word '!' is literal (glob '[!-]*'); '%:' opens a non-Unix group name.
        while i < n and not s[i].isspace() and (s[i] not in _SPECIAL or s[i] == "!" or (word == ["%"] and s[i] == ":")):
            if s[i] == "\\" and i + 1 < n:
                word.append(s[i + 1])
                i += 2
                continue
            if s[i] == '"':
                j = s.find('"', i + 1)
                if j < 0:
                    raise SudoersError("unterminated quote")
                word.append(s[i + 1 : j])
                i = j + 1
                continue
            word.append(s[i])
            i += 1
        tokens.append("".join(word))
    return tokens


def _regex_end(s, i):
    """End of a '^...$' word starting at ``i``, or None when no '$' ends a word."""
    j, n = i + 1, len(s)
    while j < n:
        if s[j] == "\\":
            j += 2
            continue
        if s[j] == "$" and (j + 1 == n or s[j + 1].isspace() or s[j + 1] in ",:"):
            return j + 1
        j += 1
    return None


# ----------------------------------------------------------------------------- parsing


class Entry(dict):
    """One statement: kind in defaults|alias|userspec|include|includedir|error, with file/line."""


def parse_file(path, fs=None, depth=0, seen=None, out=None, from_dir=False):
    """Parse ``path`` and its includes.

    Returns ``{'entries': [...], 'files': [...], 'dropins': [...], 'errors': [...]}``; drop-ins
    are the files reached through an included directory.
    """
    fs = fs or LocalFS()
    if out is None:
        out = {"entries": [], "files": [], "dropins": [], "errors": [], "assumptions": []}
        out["paths"] = _Paths(fs)
    seen = seen if seen is not None else set()
    if depth > MAX_DEPTH:
        out["errors"].append({"file": path, "line": 0, "error": "include nesting too deep"})
        return out
    try:
        text = fs.read(path)
    except (IOError, OSError) as e:
        out["errors"].append({"file": path, "line": 0, "error": "cannot read: %s" % e})
        return out
    if path in seen:
        out["errors"].append({"file": path, "line": 0, "error": "include loop"})
        return out
    seen = seen | {path}
    out["files"].append(path)
    if from_dir:
        out["dropins"].append(path)
    for first, last, content, cr in _logical_lines(text):
        base = {"file": path, "line": first, "end_line": last, "text": content}
        m = _INCLUDE.match(content)
        if m:
            target, trailing = _include_path(m.group(2))
            if trailing:
                # sudo reports a syntax error but still follows the directive (1.9.13, 1.9.16).
                out["errors"].append(
                    {"file": path, "line": first, "error": "unexpected %r after include path" % trailing}
                )
            if not target.startswith("/"):
                target = os.path.join(os.path.dirname(path), target)
            out["entries"].append(Entry(base, kind=m.group(1), target=target))
            if m.group(1) == "include":
                parse_file(target, fs, depth + 1, seen, out)
            else:
                try:
                    names = sorted(fs.listdir(target)) if fs.isdir(target) else []
                except (IOError, OSError):
                    names = []
                for name in names:
                    if "." in name or name.endswith("~"):
                        continue
                    parse_file(os.path.join(target, name), fs, depth + 1, seen, out, from_dir=True)
            continue
        try:
            stmts = parse_statement(content)
            if cr == "eof":
                raise SudoersError("line continuation at the end of the file: sudo rejects the statement")
            if cr and not _regex_args_last(stmts) and _ends_in_command(stmts):
                # (a '^...$' argument pattern before the '\r' is fine: 1.9.13 and 1.9.16 allow it)
                raise SudoersError(
                    "carriage return after a command (CRLF line end): sudo rejects its part", _drop_last(stmts)
                )
        except SudoersError as e:
            stmts = e.partial
            out["entries"].append(Entry(base, kind="error", error=str(e)))
            out["errors"].append({"file": path, "line": first, "error": str(e)})
        out["entries"].extend(Entry(base, **st) for st in stmts)
        for why in _assumed(stmts):
            out["assumptions"].append({"file": path, "line": first, "assumption": why})
    return out


def _drop_last(stmts):
    """What sudo keeps of a statement whose last part fails: the earlier ``host = commands``
    parts of a user specification, the earlier definitions of an alias line (1.9.13, 1.9.16)."""
    last = stmts[-1]
    if last["kind"] == "userspec":
        if len(last["parts"]) == 1:
            return stmts[:-1]
        return [*stmts[:-1], dict(last, parts=last["parts"][:-1])]
    return stmts[:-1]


def _last_cmnd(stmts):
    last = stmts[-1] if stmts else {"kind": None}
    if last["kind"] == "userspec":
        return last["parts"][-1]["cmnds"][-1]
    if last["kind"] == "alias" and last["alias_kind"] == "cmnd":
        return last["members"][-1]
    return None


def _regex_args_last(stmts):
    c = _last_cmnd(stmts)
    return c is not None and _is_regex(split_command(c["command"])[1] or "")


def _ends_in_command(stmts):
    """Whether the statement ends in a command word (not ALL, not an alias name)."""
    c = _last_cmnd(stmts)
    if c is None:
        return False
    word = c["command"].split(" ", 1)[0]
    return not (word == "ALL" or _ALIAS_NAME.match(word))


def _assumed(stmts):
    """What this module cannot judge in these statements, and how it leans (towards the grant)."""
    out = []
    for st in stmts:
        items = []
        if st["kind"] == "userspec":
            items = [n for _neg, n in st["users"]] + [n for p in st["parts"] for _neg, n in p["hosts"]]
            cmnds = [c for p in st["parts"] for c in p["cmnds"]]
        elif st["kind"] == "alias":
            cmnds = st["members"] if st["alias_kind"] == "cmnd" else []
            items = [] if cmnds else [n for _neg, n in st["members"]]
        else:
            continue
        for n in items:
            if n.startswith("+"):
                out.append("netgroup %s: membership assumed where it grants, not where it denies" % n)
        for c in cmnds:
            for word in c["command"].split(" ", 1):
                if _is_regex(word) and ere_to_python(word) is None:
                    out.append("regular expression %s: taken to match where it grants, not where it denies" % word)
            for opt in ("NOTBEFORE", "NOTAFTER"):
                v = (c.get("options") or {}).get(opt)
                if v is not None and gentime(v) is None:
                    out.append("%s=%s is not a time this module reads: the command counts as valid" % (opt, v))
    return out


def parse_text(text, path="/etc/sudoers"):
    """Parse one file's text (no includes followed); convenient for tests."""
    return parse_file(path, OverlayFS({path: text}, base=_NoFS()))


class _NoFS(LocalFS):
    def realpath(self, path):
        return None

    def read(self, path):
        raise IOError("not available: %s" % path)

    def listdir(self, path):
        return []

    def isdir(self, path):
        return False

    def exists(self, path):
        return False


def _include_path(rest):
    """(path, trailing words) of an include directive: one word, quoted or with '\\ ' escapes;
    a '#' comment may follow (sudo strips it), anything else is returned as trailing."""
    rest = rest.strip()
    out = []
    i, n = 0, len(rest)
    if rest.startswith('"'):
        i = 1
        while i < n and rest[i] != '"':
            if rest[i] == "\\" and i + 1 < n:
                i += 1
            out.append(rest[i])
            i += 1
        i += 1
    else:
        while i < n and rest[i] not in " \t":
            if rest[i] == "\\" and i + 1 < n:
                i += 1
            out.append(rest[i])
            i += 1
    trailing = rest[i:].strip()
    if trailing.startswith("#"):
        trailing = ""
    return "".join(out), trailing


def parse_statement(content):
    """Parse one logical line into a list of statement dicts (aliases may define several)."""
    m = _DEFAULTS.match(content)
    if m and (len(content) == m.end() or content[m.end()] in " \t" or m.group(1)):
        return [{"kind": "defaults", "binding": m.group(1) or "", "params": content[m.end() :].strip()}]
    tokens = tokenize(content)
    if not tokens:
        return []
    if tokens[0] in ALIAS_KINDS:
        return _parse_aliases(ALIAS_KINDS[tokens[0]], tokens[1:])
    return [_parse_userspec(tokens)]


def _parse_aliases(kind, toks):
    """Definitions separated by ':'; on a syntax error sudo keeps the ones before it."""
    out = []
    try:
        return _parse_alias_defs(kind, toks, out)
    except SudoersError as e:
        raise SudoersError(str(e), out)


def _parse_alias_defs(kind, toks, out):
    pos = 0
    while True:
        if pos + 1 >= len(toks) or toks[pos + 1] != "=":
            raise SudoersError("malformed alias definition")
        name = toks[pos]
        if not _ALIAS_NAME.match(name) or name == "ALL":
            raise SudoersError("bad alias name %r" % name)
        pos += 2
        if kind == "cmnd":
            members, pos = _parse_cmnd_list(toks, pos, in_alias=True)
        else:
            members, pos = _parse_list(toks, pos, stop=(":",))
        out.append({"kind": "alias", "alias_kind": kind, "name": name, "members": members})
        if pos >= len(toks):
            return out
        if toks[pos] != ":":
            raise SudoersError("unexpected %r in alias definition" % toks[pos])
        pos += 1


def _parse_item(toks, pos, what):
    """One list item: any number of '!' (each negates) and a name; returns ((neg, name), pos)."""
    neg = False
    while pos < len(toks) and toks[pos] == "!":
        neg = not neg
        pos += 1
    if pos >= len(toks) or toks[pos] in _SPECIAL:
        raise SudoersError("expected a %s at %r" % (what, toks[pos] if pos < len(toks) else "end of line"))
    return (neg, toks[pos]), pos + 1


def _parse_list(toks, pos, stop):
    """Parse 'item, !item, ...' until a token in ``stop`` (not consumed); items are (neg, name)."""
    items = []
    while True:
        item, pos = _parse_item(toks, pos, "name")
        items.append(item)
        if pos < len(toks) and toks[pos] == ",":
            pos += 1
            continue
        if pos >= len(toks) or toks[pos] in stop:
            return items, pos
        raise SudoersError("unexpected %r in list" % toks[pos])


def _parse_userspec(toks):
    users, pos = _parse_list_until_word(toks, 0)
    parts = []
    while True:
        hosts, pos = _parse_list(toks, pos, stop=("=",))
        if pos >= len(toks) or toks[pos] != "=":
            raise SudoersError("expected '=' after host list")
        cmnds, pos = _parse_cmnd_list(toks, pos + 1, in_alias=False)
        parts.append({"hosts": hosts, "cmnds": cmnds})
        if pos >= len(toks):
            break
        if toks[pos] != ":":
            raise SudoersError("unexpected %r after commands" % toks[pos])
        pos += 1
    return {"kind": "userspec", "users": users, "parts": parts}


def _parse_list_until_word(toks, pos):
    """The user list ends where the host list starts: two words not separated by a comma."""
    items = []
    while True:
        item, pos = _parse_item(toks, pos, "user")
        items.append(item)
        if pos < len(toks) and toks[pos] == ",":
            pos += 1
            continue
        if pos < len(toks) and (toks[pos] not in _SPECIAL or toks[pos] == "!"):
            return items, pos  # the host list starts (a word, or '!' negating its first item)
        raise SudoersError("a user specification needs users, hosts, '=' and commands")


def _parse_cmnd_list(toks, pos, in_alias):
    """Commands with runas specs, options and tags carried over; returns (list, pos)."""
    cmnds = []
    runas = None  # None = not given (sudo's default: root)
    tags = {}
    options = {}
    while True:
        # Runas, options and tags apply to this and the following commands until overridden.
        if not in_alias and pos < len(toks) and toks[pos] == "(":
            runas, pos = _parse_runas(toks, pos + 1)
        while not in_alias and pos + 1 < len(toks) and toks[pos] in OPTIONS | OPTIONS_LIMIT and toks[pos + 1] == "=":
            if pos + 2 >= len(toks):
                raise SudoersError("option %s without a value" % toks[pos])
            options[toks[pos]] = toks[pos + 2]
            pos += 3
        while not in_alias and pos + 1 < len(toks) and toks[pos] in TAGS and toks[pos + 1] == ":":
            # Keyed by the positive name: a later PASSWD cancels an earlier NOPASSWD.
            tag = toks[pos]
            if tag.startswith("NO"):
                tags[tag[2:]] = False
            else:
                tags[tag] = True
            pos += 2
        digest = None
        while pos + 2 < len(toks) and toks[pos] in DIGESTS and toks[pos + 1] == ":":
            # base64 digests end in '=' padding, which the tokenizer split off.
            digest = toks[pos] + ":" + toks[pos + 2]
            pos += 3
            while pos < len(toks) and toks[pos] == "=":
                digest += "="
                pos += 1
            if pos + 1 < len(toks) and toks[pos] == "," and toks[pos + 1] in DIGESTS:
                pos += 1  # further digests of the same command
        neg = False
        while pos < len(toks) and toks[pos] == "!":
            neg = not neg
            pos += 1
        if pos >= len(toks) or toks[pos] in _SPECIAL:
            raise SudoersError("expected a command at %r" % (toks[pos] if pos < len(toks) else "end of line"))
        words = [toks[pos]]
        pos += 1
        while pos < len(toks) and toks[pos] not in _SPECIAL:
            words.append(toks[pos])
            pos += 1
        _check_command(words)
        cmnds.append(
            {
                "neg": neg,
                "command": " ".join(words),
                "runas": runas,
                "nopasswd": tags.get("PASSWD") is False,
                "tags": sorted(k if on else "NO" + k for k, on in tags.items()),
                "options": dict(options),
                "digest": digest,
            }
        )
        if pos < len(toks) and toks[pos] == ",":
            pos += 1
            continue
        return cmnds, pos


def _check_command(words):
    """sudo's grammar for a command: ALL or an alias (no arguments), a fully-qualified path, a
    '^...$' regular expression, 'sudoedit' or 'list'; else the whole statement is a syntax error."""
    first = words[0]
    if first == "ALL" or _ALIAS_NAME.match(first):
        if len(words) > 1:
            raise SudoersError("%s takes no arguments" % first)
        return
    if not (first.startswith("/") or first.startswith("^") or first in ("sudoedit", "list")):
        raise SudoersError("expected a fully-qualified path name at %r" % first)
    for w in words[1:]:
        if len(w) > 1 and w[0] == "#" and (w[1].isdigit() or w[1] == "-"):
            raise SudoersError("unexpected %r in command arguments" % w)  # sudo reads a '#uid' there


def _parse_runas(toks, pos):
    users = []
    groups = []
    if pos < len(toks) and toks[pos] not in (":", ")"):
        users, pos = _parse_list(toks, pos, stop=(":", ")"))
    if pos < len(toks) and toks[pos] == ":":
        pos += 1
        if pos < len(toks) and toks[pos] != ")":
            groups, pos = _parse_list(toks, pos, stop=(")",))
    if pos >= len(toks) or toks[pos] != ")":
        raise SudoersError("unterminated runas specification")
    return {"users": users, "groups": groups}, pos + 1


# ----------------------------------------------------------------------------- analysis


class Account:
    """What sudo knows about a user when matching: name, uid, group names and gids."""

    def __init__(self, name, uid, groups=(), gids=()):
        self.name = name
        self.uid = uid
        self.groups = set(groups)
        self.gids = set(gids)

    def __repr__(self):
        return "Account(%r, %r)" % (self.name, self.uid)


_GROUP_PLUGIN = " group_plugin"  # a key no alias name can be (names have no spaces)


def aliases_of(entries):
    out = {"user": {}, "runas": {}, "host": {}, "cmnd": {}}
    for e in entries:
        if e["kind"] == "defaults" and "group_plugin" in e["params"]:
            # '%:group' items only match through a group plugin; without one they match nobody.
            out["user"][_GROUP_PLUGIN] = out["runas"][_GROUP_PLUGIN] = True
        if e["kind"] == "alias":
            # A redefinition replaces the earlier one, as sudo warns and does.
            out[e["alias_kind"]][e["name"]] = e["members"]
    return out


def _user_item_matches(item, acct, user_aliases, depth=0):
    """Whether ``item`` (a name as written) matches ``acct``.

    Plain items give True or False; an alias gives its list's verdict, True (allow), False
    (deny) or None (no item matched), because sudo negates that verdict: ``!A`` where A
    denies the user *matches* the user.
    """
    if depth > 64:
        return False
    if item == "ALL":
        return True
    if item in user_aliases:
        return _list_matches(user_aliases[item], acct, user_aliases, depth + 1)
    if item.startswith("%#"):
        return _int(item[2:]) in acct.gids
    if item.startswith("%:#"):
        return bool(user_aliases.get(_GROUP_PLUGIN))
    if item.startswith("%:"):
        # Without a group plugin sudo matches nobody; with one we cannot ask it: assume membership.
        return bool(user_aliases.get(_GROUP_PLUGIN))
    if item.startswith("%"):
        return item[1:] in acct.groups
    if item.startswith("#"):
        return _int(item[1:]) == acct.uid
    if item.startswith("+"):
        return True  # netgroups cannot be resolved statically: assume membership (conservative)
    return item == acct.name


def _int(s):
    try:
        return int(s)
    except ValueError:
        return None


def _list_matches(items, acct, user_aliases, depth=0):
    """sudo's rule: the last item of the list that matches decides; None when none matches."""
    for neg, name in reversed(items):
        if neg and name.startswith("+"):
            continue  # netgroup membership is unknown: it may grant (below), never deny
        verdict = _user_item_matches(name, acct, user_aliases, depth)
        if verdict is None or (verdict is False and name not in user_aliases):
            continue  # this item says nothing about the account
        return (not verdict) if neg else verdict
    return None


def _runas_reaches_root(runas, runas_aliases):
    if runas is None:
        return True  # no runas spec: runas_default, root
    if not runas["users"]:
        return False  # '(:group)' or '()': runs as the invoking user
    root = Account("root", 0, ("root",), (0,))
    return _list_matches(runas["users"], root, runas_aliases) is True


def _expand_cmnd(cmnd, cmnd_aliases, depth=0):
    """Flatten a command through Cmnd_Aliases into (negated, command) pairs."""
    name = cmnd["command"]
    if name in cmnd_aliases and depth < 64:
        out = []
        for sub in cmnd_aliases[name]:
            for neg, c in _expand_cmnd(sub, cmnd_aliases, depth + 1):
                out.append((neg != cmnd["neg"], c))
        return out
    return [(cmnd["neg"], name)]


def entry_reaches_root(entry, aliases, host=None, now=None):
    """True when a user specification grants any command as root (to whoever it matches) here."""
    for part in entry["parts"]:
        if not part_applies(part, aliases, host):
            continue
        for c in part["cmnds"]:
            if cmnd_active(c, now) and _runas_reaches_root(c["runas"], aliases["runas"]):
                if any(not neg and name != "list" for neg, name in _expand_cmnd(c, aliases["cmnd"])):
                    return True
    return False


def entry_nopasswd_all(entry, aliases, host=None, nopasswd_default=False, now=None):
    """True when a user specification grants ALL commands as root without a password here.

    ``nopasswd_default``: whether Defaults make sudo passwordless for the users of this line
    when the command carries no PASSWD/NOPASSWD tag (see :func:`defaults_passwordless`).
    """
    for part in entry["parts"]:
        if not part_applies(part, aliases, host):
            continue
        for c in part["cmnds"]:
            if not cmnd_active(c, now):
                continue
            if _cmnd_nopasswd(c, nopasswd_default) and _runas_reaches_root(c["runas"], aliases["runas"]):
                if any(not neg and name == "ALL" for neg, name in _expand_cmnd(c, aliases["cmnd"])):
                    return True
    return False


def user_principals(entry, aliases, depth=0):
    """The user items of a specification that can match someone, expanded through User_Aliases.

    Negated plain names match nobody by themselves and are left out; a negated alias is kept
    as ``!NAME`` (it matches the users the alias denies, so it can never be approved).
    """
    out = []

    def walk(items, d):
        for neg, name in items:
            if neg:
                # '!ALIAS' matches whoever the alias denies: an open-ended principal.
                if name in aliases["user"] and "!" + name not in out:
                    out.append("!" + name)
                continue
            if name in aliases["user"] and d < 64:
                walk(aliases["user"][name], d + 1)
            elif name not in out:
                out.append(name)

    walk(entry["users"], depth)
    return out


class HostInfo:
    """This host as sudo sees it when it matches host lists.

    ``name`` is what ``gethostname()`` returns (sudo's ``lhost``; items with a dot are compared
    with it), ``short`` the part before the first dot (items without a dot). ``ips`` are the
    addresses of the non-loopback interfaces (sudo skips loopback), or None when unknown: IP
    items then match (conservative).
    """

    def __init__(self, name, ips=None):
        self.name = (name or "").lower()
        self.short = self.name.split(".", 1)[0]
        self.ips = None if ips is None else [ipaddress.ip_address(a.split("/", 1)[0].split("%", 1)[0]) for a in ips]

    def __repr__(self):
        return "HostInfo(%r, %r)" % (self.name, self.ips)


_IPV4_ITEM = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?:/(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9]{1,2}))?")
_IPV6_ITEM = re.compile(r"[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*(?:/[0-9]{1,3})?")
_GLOB_CHARS = re.compile(r"[*?\[\]]")


def _addr_matches(item, host):
    if host.ips is None:
        return True
    try:
        if "/" in item:
            addr, mask = item.split("/", 1)
            if "." in mask:
                net = ipaddress.ip_network("%s/%s" % (addr, mask), strict=False)
            else:
                net = ipaddress.ip_network("%s/%s" % (addr, int(mask)), strict=False)
            return any(ip.version == net.version and ip in net for ip in host.ips)
        want = ipaddress.ip_address(item)
        return any(ip == want for ip in host.ips)
    except ValueError:
        return False


def _host_item_matches(item, host, host_aliases, depth=0):
    """True/False for a plain item; an alias gives its list's verdict (True, False or None)."""
    if depth > 64:
        return False
    if item == "ALL":
        return True
    if item in host_aliases:
        return _generic_list(
            host_aliases[item], lambda n, d: _host_item_matches(n, host, host_aliases, d), host_aliases, depth + 1
        )
    if item.startswith("+"):
        return True  # netgroups cannot be resolved statically: assume the host is in it
    if _IPV4_ITEM.fullmatch(item) or (":" in item and _IPV6_ITEM.fullmatch(item)):
        return _addr_matches(item, host)
    # sudo: a pattern with a dot is compared with the host name, one without with the short name.
    target = host.name if "." in item else host.short
    if _GLOB_CHARS.search(item):
        return fnmatch.fnmatchcase(target, item.lower())
    return target == item.lower()


def _generic_list(items, matcher, aliases, depth=0):
    """sudo's list rule: the last matching item decides; an alias passes on its own verdict."""
    for neg, name in reversed(items):
        if neg and name.startswith("+"):
            continue  # netgroup membership is unknown: it may grant, never deny
        verdict = matcher(name, depth)
        if verdict is None or (verdict is False and name not in aliases):
            continue
        return (not verdict) if neg else verdict
    return None


def part_applies(part, aliases, host):
    """Whether a ``hosts = commands`` part applies on ``host`` (always when host is None)."""
    if host is None:
        return True
    return (
        _generic_list(part["hosts"], lambda n, d: _host_item_matches(n, host, aliases["host"], d), aliases["host"])
        is True
    )


_GENTIME = re.compile(r"([0-9]{10}(?:[0-9]{2}){0,2})(?:[.,]([0-9]))?(Z|[+-][0-9]{2}(?:[0-9]{2})?)?\Z")


def gentime(value):
    """sudo's NOTBEFORE/NOTAFTER value (RFC 4517 Generalized Time, as sudo's parse_gentime
    reads it: YYYYMMDDHH[MM[SS]][.F][Z|+-hh[mm]], local time without a zone) as a Unix time,
    or None when it is not one."""
    m = _GENTIME.match(value or "")
    if not m:
        return None
    digits, frac, zone = m.groups()
    parts = [int(digits[k : k + 2]) for k in range(4, len(digits), 2)]
    year = int(digits[:4])
    month, day, hour = parts[0], parts[1], parts[2]
    minute = parts[3] if len(parts) > 3 else 0
    second = parts[4] if len(parts) > 4 else 0
    if frac:
        # sudo: a fraction of the last unit given (an hour or a minute; seconds' is dropped)
        if len(parts) == 3:
            minute += 6 * int(frac)
        elif len(parts) == 4:
            second += 6 * int(frac)
    tm = (year, month, day, hour, minute, second, 0, 0, -1)
    try:
        if not zone:
            return int(time.mktime(tm))
        t = calendar.timegm(tm)
    except (OverflowError, ValueError):
        return None
    if zone != "Z":
        off = (int(zone[1:3]) * 60 + (int(zone[3:5]) if len(zone) > 3 else 0)) * 60
        t -= off if zone[0] == "+" else -off
    return t


def cmnd_active(c, now=None):
    """Whether a command's NOTBEFORE/NOTAFTER window holds ``now`` (Unix time, default: now).

    sudo skips a command outside its window altogether: it neither allows nor denies (a
    '!cmd' that has expired denies nothing). A value this module cannot read counts as
    inside the window, so a grant is never hidden by it.
    """
    opts = c.get("options") or {}
    if "NOTBEFORE" not in opts and "NOTAFTER" not in opts:
        return True
    now = time.time() if now is None else now
    nb, na = gentime(opts.get("NOTBEFORE")), gentime(opts.get("NOTAFTER"))
    if nb is not None and now < nb:
        return False
    if na is not None and now > na:
        return False
    return True


def _cmnd_nopasswd(c, nopasswd_default):
    """An explicit PASSWD/NOPASSWD tag wins over Defaults (sudo applies the tag last)."""
    if "NOPASSWD" in c["tags"]:
        return True
    if "PASSWD" in c["tags"]:
        return False
    return bool(nopasswd_default)


# ----------------------------------------------------------------------------- commands

PROBE = "/usr/local/sbin/pii-guard-sudo-probe"  # a command no rule names: only ALL (or a glob) allows it


def split_command(text):
    """'/usr/bin/systemctl restart x' -> ('/usr/bin/systemctl', 'restart x' or None)."""
    path, _sep, args = text.strip().partition(" ")
    args = args.strip()
    return path, (args if args else None)


class _Paths:
    """Command file identity as sudo checks it (see :class:`LocalFS`); not serialised."""

    def __init__(self, fs):
        self.realpath = getattr(fs, "realpath", None) or (lambda p: None)
        self.regex_canonical = getattr(fs, "regex_canonical", None)

    def same(self, a, b):
        """sudo's test: equal paths, or equal base names and the same file."""
        if a == b:
            return True
        if a.rsplit("/", 1)[-1] != b.rsplit("/", 1)[-1]:
            return False
        ra = self.realpath(a)
        return ra is not None and ra == self.realpath(b)

    def canonical(self, path):
        """The path with its directory resolved (what 1.9.16 matches regexes against too)."""
        d, _sep, base = path.rpartition("/")
        rd = self.realpath(d or "/")
        return None if rd is None else rd.rstrip("/") + "/" + base


_NO_PATHS = _Paths(None)


def _cmnd_item_matches(spec, cmd, cmnd_aliases, depth=0, positive=True, paths=_NO_PATHS):
    """Whether one command item (as written) allows ``cmd`` = (path, args or None).

    ``positive``: whether a match would allow (False under an odd number of '!'): an item
    this module cannot judge (a regular expression beyond :func:`ere_to_python`) is taken to
    match where that allows and not to match where it would deny, so it never hides a grant.
    """
    if depth > 64:
        return False
    if spec in cmnd_aliases:
        for sub in reversed(cmnd_aliases[spec]):
            v = _cmnd_item_matches(sub["command"], cmd, cmnd_aliases, depth + 1, positive != sub["neg"], paths)
            if v is None or (v is False and sub["command"] not in cmnd_aliases):
                continue
            return (not v) if sub["neg"] else v
        return None
    if spec == "ALL":
        return True
    spath, sargs = split_command(spec)
    path, args = cmd
    if spath == "sudoedit":
        return path == "sudoedit" and _args_match(sargs, args, positive)
    if path == "sudoedit":
        return False
    base = path.rsplit("/", 1)[-1]
    if _is_regex(spath):
        # sudo matches the path string (no file identity); 1.9.16 also its canonical directory.
        ok = _regex_search(spath, path)
        canon = paths.canonical(path) if paths.regex_canonical is not False else None
        if ok is False and canon and canon != path:
            ok = _regex_search(spath, canon)
        if ok is None:
            return True if positive else None
        return ok and _args_match(sargs, args, positive)
    if spath.endswith("/"):
        # a directory: any file in it, compared by identity
        ok = path.rsplit("/", 1)[0] + "/" == spath or paths.same(spath + base, path)
        return ok
    if _GLOB_CHARS.search(spath):
        ok = fnmatch.fnmatchcase(path, spath) and spath.count("/") == path.count("/")
        sdir, _sep, sbase = spath.rpartition("/")
        if not ok and not _GLOB_CHARS.search(sdir) and fnmatch.fnmatchcase(base, sbase):
            # sudo globs the file system and compares each match by identity
            ok = paths.same(sdir + "/" + base, path)
    else:
        ok = paths.same(spath, path)
    return ok and _args_match(sargs, args, positive)


def _args_match(sargs, args, positive=True):
    if sargs is None:
        return True  # no arguments given in sudoers: any arguments
    if sargs == '""':
        return not args
    if _is_regex(sargs):
        ok = _regex_search(sargs, args or "")
        return (True if positive else None) if ok is None else ok
    if _GLOB_CHARS.search(sargs):
        return fnmatch.fnmatchcase(args or "", sargs)
    return (args or "") == sargs


def _is_regex(text):
    return len(text) > 1 and text[0] == "^" and text[-1] == "$"


_POSIX_CLASSES = {
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "alnum": "a-zA-Z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "space": " \\t\\n\\r\\f\\v",
    "blank": " \\t",
    "xdigit": "0-9A-Fa-f",
    "punct": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    "cntrl": "\\x00-\\x1f\\x7f",
    "print": "\\x20-\\x7e",
    "graph": "\\x21-\\x7e",
}
_RE_CACHE = {}


def ere_to_python(pattern):
    """A POSIX extended regular expression (what sudo hands to regcomp) as a compiled Python
    pattern with the same matches, or None where this translation is not sure of that
    (back references, collating elements, GNU word anchors, undefined escapes)."""
    if pattern in _RE_CACHE:
        return _RE_CACHE[pattern]
    out = []
    i, n = 0, len(pattern)
    result = None
    try:
        while i < n:
            c = pattern[i]
            if c == "\\":
                if i + 1 >= n:
                    raise ValueError("trailing backslash")
                nxt = pattern[i + 1]
                if nxt in ".[]()*+?{}|^$\\/,:=!-#%@ ":
                    out.append(re.escape(nxt))
                elif nxt in "wWsS":
                    out.append("\\" + nxt)
                else:
                    raise ValueError("escape")
                i += 2
                continue
            if c == "[":
                j = i + 1
                body = []
                if j < n and pattern[j] == "^":
                    body.append("^")
                    j += 1
                first = True
                while j < n and (first or pattern[j] != "]"):
                    if pattern[j] == "[" and j + 1 < n and pattern[j + 1] in ":=.":
                        close = pattern.find(pattern[j + 1] + "]", j + 2)
                        if pattern[j + 1] != ":" or close < 0 or pattern[j + 2 : close] not in _POSIX_CLASSES:
                            raise ValueError("bracket")
                        body.append(_POSIX_CLASSES[pattern[j + 2 : close]])
                        j = close + 2
                    else:
                        ch = pattern[j]
                        # in a bracket '\\' is a literal backslash; '-' between two chars a range
                        body.append(ch if ch == "-" or ch.isalnum() else re.escape(ch))
                        j += 1
                    first = False
                if j >= n:
                    raise ValueError("unterminated bracket")
                out.append("[" + "".join(body) + "]")
                i = j + 1
                continue
            if c == "$":
                out.append("\\Z")
            elif c in "^.()*+?{}|":
                out.append(c)
            else:
                out.append(re.escape(c))
            i += 1
        result = re.compile("".join(out), re.DOTALL)
    except (ValueError, re.error):
        result = None
    _RE_CACHE[pattern] = result
    return result


def _regex_search(pattern, text):
    """True/False as regexec() answers, None when :func:`ere_to_python` cannot be sure."""
    rx = ere_to_python(pattern)
    if rx is None:
        return None
    return rx.search(text) is not None


def _cmnd_spec_matches(c, cmd, cmnd_aliases, paths=_NO_PATHS):
    """One command of a rule: True (allowed), False (denied by '!'), None (says nothing)."""
    v = _cmnd_item_matches(c["command"], cmd, cmnd_aliases, positive=not c["neg"], paths=paths)
    if v is None or (v is False and c["command"] not in cmnd_aliases):
        return None
    return (not v) if c["neg"] else v


def _runas_allows(runas, target, invoking, runas_aliases):
    """Whether a runas spec lets ``invoking`` run as account ``target`` (sudo -u target)."""
    if runas is None:
        return target.name == "root"  # runas_default
    if not runas["users"]:
        # '(:group)' or '()': only as the invoking user (or root when nothing is given at all)
        return target.name == invoking.name if runas["groups"] else target.name == "root"
    return (
        _generic_list(runas["users"], lambda n, d: _user_item_matches(n, target, runas_aliases, d), runas_aliases)
        is True
    )


ROOT = Account("root", 0, ("root",), (0,))


def _applicable_rules(parsed, al, acct, host, now=None):
    """(entry, cmnd) of every rule that names ``acct`` and applies on ``host``, in file order.

    Commands outside their NOTBEFORE/NOTAFTER window are left out (sudo skips them), but
    still count for ``any``: ``sudo -l`` lists them.
    """
    out = []
    any_spec = False
    for e in parsed["entries"]:
        if e["kind"] != "userspec" or _list_matches(e["users"], acct, al["user"]) is not True:
            continue
        for part in e["parts"]:
            if not part_applies(part, al, host):
                continue
            any_spec = True
            for c in part["cmnds"]:
                if cmnd_active(c, now):
                    out.append((e, c))
    return out, any_spec


def _defaults_params(text):
    params = []
    buf, quoted = [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            params.append("".join(buf).strip())
            buf = []
        else:
            buf.append(ch)
    params.append("".join(buf).strip())
    return [x for x in params if x]


_BINDING_SPLIT = re.compile(r"((?:[^\s,]+\s*,\s*)*[^\s,]+)\s+(.*)", re.S)


def authenticate_default(parsed, al, acct, host, target=ROOT, cmd=None):
    """The value of sudo's ``authenticate`` flag for ``acct`` on ``host`` running ``cmd`` as target."""
    return defaults_flag(parsed, al, acct, host, "authenticate", True, target, cmd)


def defaults_flag(parsed, al, acct, host, flag, value, target=ROOT, cmd=None):
    """The value of the boolean Defaults ``flag`` (initially ``value``) for this invocation.

    Global, host, user and runas Defaults apply in file order, command Defaults after them
    (sudoers(5): "Defaults entries are parsed in the following order").
    """
    flag_re = re.compile(r"(!*)\s*" + re.escape(flag))
    later = []
    for e in parsed["entries"]:
        if e["kind"] != "defaults":
            continue
        binding, params = e["binding"], e["params"]
        if binding:
            m = _BINDING_SPLIT.fullmatch(params.strip())
            if not m:
                continue
            try:
                items, _pos = _parse_list(tokenize(m.group(1)), 0, stop=())
            except SudoersError:
                continue
            params = m.group(2)
            if binding == ":":
                if _list_matches(items, acct, al["user"]) is not True:
                    continue
            elif binding == "@":
                if (
                    host is not None
                    and _generic_list(items, lambda n, d: _host_item_matches(n, host, al["host"], d), al["host"])
                    is not True
                ):
                    continue
            elif binding == ">":
                if (
                    _generic_list(items, lambda n, d: _user_item_matches(n, target, al["runas"], d), al["runas"])
                    is not True
                ):
                    continue
            elif binding == "!":
                later.append((items, params))
                continue
        value = _apply_flag(value, params, flag_re)
    for items, params in later:
        if cmd is None:
            continue
        hit = None
        for neg, name in reversed(items):
            v = _cmnd_item_matches(name, cmd, al["cmnd"], paths=parsed.get("paths") or _NO_PATHS)
            if v is None or (v is False and name not in al["cmnd"]):
                continue
            hit = (not v) if neg else v
            break
        if hit is True:
            value = _apply_flag(value, params, flag_re)
    return value


def _apply_flag(value, params, flag_re):
    for prm in _defaults_params(params):
        m = flag_re.fullmatch(prm)
        if m:
            value = len(m.group(1)) % 2 == 0
    return value


def defaults_passwordless(parsed, acct, host=None):
    """Whether Defaults alone (no tag) make sudo passwordless for ``acct`` running as root."""
    al = aliases_of(parsed["entries"])
    return not authenticate_default(parsed, al, acct, host)


def decide(parsed, acct, cmd, host=None, target=ROOT, al=None, rules=None):
    """What sudo decides for ``acct`` running ``cmd`` = (path, args) as ``target`` on ``host``.

    Returns None (not allowed) or ``{"nopasswd": bool, "entry": the deciding rule, "cmnd": ...}``.
    The last matching command of all applicable rules decides, as in sudo.
    """
    al = al or aliases_of(parsed["entries"])
    if rules is None:
        rules, _any = _applicable_rules(parsed, al, acct, host)
    for e, c in reversed(rules):
        if not _runas_allows(c["runas"], target, acct, al["runas"]):
            continue
        v = _cmnd_spec_matches(c, cmd, al["cmnd"], parsed.get("paths") or _NO_PATHS)
        if v is None:
            continue
        if not v:
            return None
        auth = authenticate_default(parsed, al, acct, host, target, cmd)
        return {"nopasswd": _cmnd_nopasswd(c, not auth), "entry": e, "cmnd": c}
    return None


def _naming_rule(parsed, acct, name, host, al, rules):
    for e, c in reversed(rules):
        if c["neg"] or not _runas_allows(c["runas"], ROOT, acct, al["runas"]):
            continue
        if any(not neg and n == name for neg, n in _expand_cmnd(c, al["cmnd"])):
            auth = authenticate_default(parsed, al, acct, host, ROOT, None)
            return {"nopasswd": _cmnd_nopasswd(c, not auth), "entry": e, "cmnd": c}
    return None


def evaluate(parsed, acct, host=None, extra_commands=(), now=None):
    """sudo's verdict for one account on this host.

    ``{"any": sudo -l lists something, "all": any command as root, "nopasswd_all": that without
    a password, "commands": {command: {"nopasswd": bool}} for the commands the rules name (and
    ``extra_commands``) that are allowed as root, "sources": [file:line of the deciding rules]}``.
    """
    al = aliases_of(parsed["entries"])
    rules, any_spec = _applicable_rules(parsed, al, acct, host, now)
    out = {"any": any_spec, "all": False, "nopasswd_all": False, "commands": {}, "sources": []}
    d = decide(parsed, acct, (PROBE, None), host, ROOT, al, rules)
    if d:
        out["all"] = True
        out["nopasswd_all"] = d["nopasswd"]
        out["sources"].append("%s:%d" % (d["entry"]["file"], d["entry"]["line"]))
    names = []
    for _e, c in rules:
        if c["neg"]:
            continue
        for neg, name in _expand_cmnd(c, al["cmnd"]):
            # 'list' lets the user list others' privileges (sudo -l -U); it runs nothing as root
            if not neg and name not in ("ALL", "list") and name not in names:
                names.append(name)
    for name in list(extra_commands):
        if name not in names:
            names.append(name)
    for name in names:
        d = decide(parsed, acct, split_command(name), host, ROOT, al, rules)
        if not d and _is_regex(split_command(name)[0]):
            # A regular expression does not match its own text: report the rule that names it
            # as the grant of whatever it matches (sudo checks each command when it runs).
            d = _naming_rule(parsed, acct, name, host, al, rules)
        if d:
            out["commands"][name] = {"nopasswd": d["nopasswd"], "cmnd": d["cmnd"]}
            src = "%s:%d" % (d["entry"]["file"], d["entry"]["line"])
            if src not in out["sources"]:
                out["sources"].append(src)
    return out


def root_grants(parsed, accounts, host=None, now=None):
    """Who can run what as root, and how.

    Returns a list of grants, one per (account, statement): ``{user, file, line, end_line,
    all: bool (ALL commands), commands: [...] (others), nopasswd: bool (any root command
    without a password), nopasswd_all: bool, via: [user items of the line that matched]}``.
    Parts whose host list does not match ``host`` are skipped (none when host is None);
    Defaults that turn authentication off count as NOPASSWD.
    """
    entries = parsed["entries"]
    al = aliases_of(entries)
    grants = []
    auth = dict((id(a), authenticate_default(parsed, al, a, host)) for a in accounts)
    for e in entries:
        if e["kind"] != "userspec":
            continue
        for acct in accounts:
            if _list_matches(e["users"], acct, al["user"]) is not True:
                continue
            g = {
                "user": acct.name,
                "file": e["file"],
                "line": e["line"],
                "end_line": e["end_line"],
                "all": False,
                "commands": [],
                "nopasswd": False,
                "nopasswd_all": False,
                "via": [n for neg, n in e["users"] if not neg],
            }
            for part in e["parts"]:
                if not part_applies(part, al, host):
                    continue
                for c in part["cmnds"]:
                    if not cmnd_active(c, now) or not _runas_reaches_root(c["runas"], al["runas"]):
                        continue
                    nopw = _cmnd_nopasswd(c, not auth[id(acct)])
                    for neg, name in _expand_cmnd(c, al["cmnd"]):
                        if neg or name == "list":
                            continue  # a denied command grants nothing (but cannot fence off ALL)
                        if name == "ALL":
                            g["all"] = True
                            g["nopasswd_all"] = g["nopasswd_all"] or nopw
                        elif name not in g["commands"]:
                            g["commands"].append(name)
                        g["nopasswd"] = g["nopasswd"] or nopw
            if g["all"] or g["commands"]:
                grants.append(g)
    return grants


def summarize(grants):
    """{user: {all, nopasswd_all, commands, sources: ['file:line', ...]}} over root_grants()."""
    out = {}
    for g in grants:
        s = out.setdefault(g["user"], {"all": False, "nopasswd_all": False, "commands": [], "sources": []})
        s["all"] = s["all"] or g["all"]
        s["nopasswd_all"] = s["nopasswd_all"] or g["nopasswd_all"]
        for c in g["commands"]:
            if c not in s["commands"]:
                s["commands"].append(c)
        s["sources"].append("%s:%d" % (g["file"], g["line"]))
    return out
