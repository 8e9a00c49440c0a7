"""Differential test of the sudoers parser against the real sudo (issue 13, Proof).

A random generator writes sudoers configurations (users, groups, ``#uid``/``%#gid``, the four
alias kinds with negation and continuation lines, host lists with this host's short name,
FQDN, IP and network and other hosts, runas lists, NOPASSWD/PASSWD, ``Defaults`` with
``!authenticate`` bound globally, to users, groups, hosts and runas users, ``@include`` and
``@includedir`` with file names sudo skips; and, verified one by one against sudo 1.9.13 and
1.9.16 first: legacy ``#includedir`` against look-alike comments, NOTBEFORE/NOTAFTER windows
(past, future, local time, zone offsets), TIMEOUT/CWD options, tag runs in any order
(NOEXEC, SETENV, MAIL, FOLLOW, LOG_INPUT, LOG_OUTPUT with NOPASSWD/PASSWD), ``""`` (no
arguments), wildcards and directories matched by file identity across the merged ``/bin ->
usr/bin``, ``^...$`` regular expressions, ``list``, ``Defaults!command``, quoted names, CRLF
files, a user matched through its primary group only). For every configuration and every user, the
parser's verdict is compared with what sudo 1.9 in a lab container with a fixed hostname says:

* ``any``: ``sudo -l -U user`` lists privileges (vs "is not allowed to run sudo");
* ``all``: the user's ``sudo -n -l -u root PROBE`` allows a command no rule names (only ALL
  can); asked as the user (``runuser``), with ``Defaults listpw=never`` in the main file: sudo
  1.9.16's ``sudo -l -U user`` run as root matches ``(:group)``-only entries against root;
* ``nopasswd_all``: the user runs ``sudo -n -u root PROBE`` without a password;
* per command named in the configuration: the user's ``sudo -n -l -u root CMD`` (not sudoedit:
  ``sudo -l`` always answers no for it, so sudoedit grants are compared through ``any``).

Run ``python tests/integration/sudo_oracle.py N`` for N configurations (``make sudo-oracle``
runs 10,000); ``tests/integration/test_sudo_oracle.py`` runs 500 in ``make test``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".cache" / "collections"))

from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import admin_privileges as AP  # noqa: E402
from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import sudoers as S  # noqa: E402

# The lab image of the release under test (`lab.py --release 13 env` sets it), else 12's.
IMAGE = os.environ.get("PII_GUARD_LAB_IMAGE", "localhost/pii-guard-lab:latest")
HOSTNAME = "web1.lab.example"
PROBE = S.PROBE
USERS = {  # name: (uid, [supplementary groups])
    "alice": (2001, ["devs"]),
    "bob": (2002, ["devs", "ops"]),
    "carol": (2003, ["ops"]),
    "dave": (2004, []),
    "erin": (2005, ["ops"]),
    "frank": (2006, []),  # in ops through its primary group only (PRIMARY)
}
GROUPS = {"devs": 3001, "ops": 3002}
PRIMARY = {"frank": "ops"}  # users whose primary group is an existing group, not their own
# Where the command paths are looked up by file identity (merged /usr: /bin -> usr/bin).
PATH_DIRS = ["/bin", "/usr/bin", "/sbin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"]
COMMANDS = [
    "/usr/bin/id",
    "/bin/sh",
    "/usr/bin/journalctl",
    "/usr/bin/less",
    "/usr/bin/systemctl restart nginx",
    "/usr/bin/find",
    "sudoedit /etc/hosts",
    "/usr/bin/sh",
]
# listpw=never: the commands are asked by each user itself (RUNNER), and `sudo -l` would want the
# user's password where an entry lacks NOPASSWD (listpw=any, the default). The parser ignores it.
MAIN_HEAD = (
    "Defaults\tenv_reset\nDefaults\tmail_badpass\nDefaults\tlistpw=never\n"
    'Defaults\tsecure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"\n'
    "root\tALL=(ALL:ALL) ALL\n"
)

# Runs inside the container: applies each configuration and asks sudo. Python 3 stdlib only.
RUNNER = r"""
import json, os, shutil, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
USERS = %(users)s
PROBE = %(probe)r
def sh(args):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
def probe(u, commands):
    r = {}
    listing = sh(["sudo", "-l", "-U", u])
    r["any"] = "may run the following" in listing.stdout
    # Short cuts on sudo's own answers only: nothing listed -> nothing allowed; PROBE not
    # allowed -> not allowed without a password either.
    # Commands are asked as the user itself: sudo 1.9.16 (Debian 13) matches a runas-group-only
    # entry such as (:devs) against the invoking user when root asks `sudo -l -U user -u root CMD`,
    # and says allowed where the user is refused (1.9.13 on 12 does not).
    ask = ["runuser", "-u", u, "--", "sudo", "-n", "-l", "-u", "root"]
    r["all"] = r["any"] and sh(ask + [PROBE]).returncode == 0
    r["nopasswd_all"] = r["all"] and sh(["runuser", "-u", u, "--", "sudo", "-n", "-u", "root", PROBE]).returncode == 0
    r["commands"] = {}
    for c in commands:
        if c.startswith("sudoedit"):
            continue  # sudo -l cannot check sudoedit (it answers no); covered by "any"
        r["commands"][c] = r["any"] and sh(ask + c.split()).returncode == 0
    return u, r
out = []
pool = ThreadPoolExecutor(4)
t = {"sudo": 0.0}
for cfg in json.load(sys.stdin):
    shutil.rmtree("/etc/sudoers.d", ignore_errors=True)
    os.mkdir("/etc/sudoers.d", 0o750)
    for path, text in cfg["files"].items():
        with open(path, "w") as fh:
            fh.write(text)
        os.chmod(path, 0o440)
    v = sh(["visudo", "-c"])
    ok = v.returncode == 0
    res = {"valid": ok, "users": {}}
    if not ok:
        res["visudo"] = v.stdout + v.stderr
    if ok or cfg.get("probe_invalid"):
        res["users"] = dict(pool.map(lambda u: probe(u, cfg["commands"]), USERS))
    out.append(res)
json.dump(out, sys.stdout)
"""


def podman(*args, check=True, input=None):
    return subprocess.run(["podman", *args], check=check, capture_output=True, text=True, input=input)


class ContainerPaths(S._NoFS):
    """The container's file identities (``readlink -e``), as the parser's file access sees them."""

    def __init__(self, realmap, regex_canonical):
        self.realmap = realmap
        self.regex_canonical = regex_canonical

    def realpath(self, path):
        return self.realmap.get(path)


class Container:
    """One lab container with a fixed hostname, the test users, groups and commands."""

    def __init__(self, name_hint=None, image=IMAGE):
        name_hint = name_hint or os.environ.get("SUDO_ORACLE_NAME", "i13-sudo")  # who started it
        self.name = "%s-oracle-%s" % (name_hint, uuid.uuid4().hex[:6])
        self.image = image

    def __enter__(self):
        podman("run", "-d", "--rm", "--name", self.name, "--hostname", HOSTNAME, self.image, "sleep", "infinity")
        try:
            return self._setup()
        except BaseException:
            self.__exit__()  # a failed setup must not leave the container running
            raise

    def _setup(self):
        setup = ["set -e"]
        for g, gid in GROUPS.items():
            setup.append("groupadd -g %d %s" % (gid, g))
        for u, (uid, groups) in USERS.items():
            extra = ("-G " + ",".join(groups)) if groups else ""
            if u in PRIMARY:
                extra += " -g " + PRIMARY[u]
            setup.append("useradd -u %d %s %s" % (uid, extra, u))
        for c in [*COMMANDS, PROBE]:
            path = c.split()[0]
            if path.startswith("/"):
                setup.append(
                    "test -e %s || { printf '#!/bin/sh\\nexit 0\\n' > %s; chmod 755 %s; }" % (path, path, path)
                )
        podman("exec", self.name, "bash", "-c", "; ".join(setup))
        ips = podman("exec", self.name, "ip", "-o", "addr", "show").stdout
        self.ips = []
        for line in ips.splitlines():
            f = line.split()
            if len(f) >= 4 and f[1] != "lo" and f[2] in ("inet", "inet6"):
                self.ips.append(f[3])
        # The facts the parser needs from this system, read from it: accounts, file identities
        # of the command paths, and the sudo version.
        self.passwd = [
            (f[0], int(f[2]), int(f[3]))
            for f in (ln.split(":") for ln in podman("exec", self.name, "getent", "passwd").stdout.splitlines())
        ]
        self.group = [
            (f[0], int(f[2]), [m for m in f[3].split(",") if m])
            for f in (ln.split(":") for ln in podman("exec", self.name, "getent", "group").stdout.splitlines())
        ]
        bases = {c.split()[0].rsplit("/", 1)[-1] for c in [*COMMANDS, PROBE] if c.startswith("/")}
        names = sorted({d + "/" + b for b in bases for d in PATH_DIRS} | set(PATH_DIRS))
        real = podman(
            "exec", self.name, "sh", "-c", 'for p in "$@"; do echo "$p $(readlink -e "$p")"; done', "-", *names
        )
        realmap = {}
        for line in real.stdout.splitlines():
            k, _sep, v = line.partition(" ")
            if v:
                realmap[k] = v
        ver = podman("exec", self.name, "sudo", "-V").stdout.split("\n", 1)[0].split()[-1]  # "1.9.13p3"
        nums = tuple(int(x) for x in ver.split("p")[0].split("."))
        self.paths = ContainerPaths(realmap, regex_canonical=nums >= (1, 9, 16))
        runner = RUNNER % {"users": repr(sorted(USERS)), "probe": PROBE}
        podman("exec", "-i", self.name, "sh", "-c", "cat > /root/oracle_runner.py", input=runner)
        return self

    def __exit__(self, *exc):
        podman("rm", "-f", "-t", "0", self.name, check=False)

    def ask(self, configs):
        payload = json.dumps(
            [
                {"files": c["files"], "commands": c["commands"], "probe_invalid": c.get("probe_invalid", False)}
                for c in configs
            ]
        )
        r = podman("exec", "-i", self.name, "python3", "/root/oracle_runner.py", input=payload)
        return json.loads(r.stdout)


# ----------------------------------------------------------------------------- generator


# Command items beyond plain paths (verified against both sudo releases before they came here):
# wildcards and directories are matched by file identity (/bin/* allows /usr/bin/id), regular
# expressions by the path string (1.9.16 also its canonical directory), '""' allows no arguments.
PATTERNS = [
    '/usr/bin/id ""',
    "/usr/bin/*",
    "/usr/bin/s*",
    "/bin/*",
    "/usr/bin/",
    "/usr/local/sbin/*",
    "^/usr/bin/(id|less)$",
    "^/usr/(local/)?s?bin/pii-guard-.*$",
    "^/usr/bin/[a-j]+$",
    "^/usr/bin/sh$",
    "/usr/bin/systemctl ^restart (nginx|apache2)$",
    "list",
]
# Asked (2 of them) of every user when a pattern is in the configuration (patterns name no command).
PATTERN_ASK = [
    "/usr/bin/id",
    "/usr/bin/id -u",
    "/bin/sh",
    "/usr/bin/sh",
    "/usr/bin/less",
    "/usr/bin/systemctl restart nginx",
]
TAGS = ["NOEXEC", "SETENV", "NOSETENV", "MAIL", "NOMAIL", "FOLLOW", "LOG_INPUT", "LOG_OUTPUT", "NOPASSWD", "PASSWD"]
# The include directive of the main file: legacy '#include' forms sudo reads, and look-alike
# comments it does not (a space after '#', an indented '#includedir').
INCLUDES = [
    ("@includedir /etc/sudoers.d\n", True),
    ("@includedir /etc/sudoers.d\n", True),
    ("#includedir /etc/sudoers.d\n", True),
    ("#includedir\t/etc/sudoers.d\n", True),
    ("@includedir /etc/sudoers.d # drop-ins\n", True),
    ("  @includedir /etc/sudoers.d\n", True),
    ("# includedir /etc/sudoers.d\n", False),
    ("  #includedir /etc/sudoers.d\n", False),
]


class Gen:
    def __init__(self, rng: random.Random, ips):
        self.r = rng
        self.now = time.time()
        v4 = [a.split("/")[0] for a in ips if ":" not in a]
        self.my_ip = v4[0] if v4 else "10.88.0.2"
        net = self.my_ip.split(".")
        self.my_net = "%s.%s.0.0/16" % (net[0], net[1])

    def pick(self, seq):
        return self.r.choice(seq)

    def maybe_neg(self, item, p=0.15):
        return ("!" + item) if self.r.random() < p else item

    def user_item(self, aliases):
        opts = list(USERS) * 3 + [
            "%devs",
            "%ops",
            "%#3001",
            "%#3002",
            "#2003",
            "#2001",
            "ALL",
            "nobody",
            "%:ops",
            '"alice"',
        ]
        opts += aliases
        return self.pick(opts)

    def host_item(self, aliases):
        opts = [
            "ALL",
            "ALL",
            "web1",
            "WEB1",
            "web1.lab.example",
            "web2",
            "db1.lab.example",
            "web*",
            "db*",
            "*.lab.example",
            self.my_ip,
            self.my_net,
            "192.0.2.0/24",
            "198.51.100.7",
            *aliases,
        ]
        return self.pick(opts)

    def lst(self, fn, aliases, n=3, neg=0.15):
        k = self.r.randint(1, n)
        items = [self.maybe_neg(fn(aliases), neg) for _ in range(k)]
        return items

    def runas(self, aliases):
        return self.pick(
            [
                "",
                "",
                "(ALL)",
                "(root)",
                "(ALL:ALL)",
                "(alice)",
                "(:devs)",
                "(ALL, !root)",
                "(#0)",
                "(root, alice)",
            ]
            + ["(%s)" % a for a in aliases]
        )

    def cmnd(self, aliases):
        if self.r.random() < 0.15:
            c = self.pick(PATTERNS)
            self.patterned = self.patterned or c != "list"
            return c if c == "list" else self.maybe_neg(c, 0.12)
        c = self.pick([*COMMANDS, "ALL", "ALL", "ALL", *aliases])
        return self.maybe_neg(c, 0.12)

    def stamp(self, hours):
        """A NOTBEFORE/NOTAFTER value ``hours`` from now (|hours| >= 30: no time zone can flip it)."""
        t = time.gmtime(self.now + hours * 3600)
        form = self.pick(["%Y%m%d%H%M%SZ", "%Y%m%d%H%MZ", "%Y%m%d%HZ", "%Y%m%d%H%M%S", "%Y%m%d%H%M%S.5Z"])
        if self.r.random() < 0.2:
            return time.strftime("%Y%m%d%H%M%S", time.gmtime(self.now + hours * 3600 + 9 * 3600)) + "+0900"
        return time.strftime(form, t)

    def options(self):
        """Options (before tags, any order); time windows lie 30 to 72 hours in the past or future."""
        opts = []
        for _ in range(self.r.randint(0, 2)):
            kind = self.pick(["NOTBEFORE", "NOTAFTER", "NOTBEFORE", "NOTAFTER", "TIMEOUT", "CWD"])
            if kind in ("NOTBEFORE", "NOTAFTER"):
                opts.append("%s=%s" % (kind, self.stamp(self.r.choice([-1, 1]) * self.r.randint(30, 72))))
            elif kind == "TIMEOUT":
                opts.append("TIMEOUT=" + self.pick(["5m", "1h30m", "90"]))
            else:
                opts.append("CWD=" + self.pick(["/", "*"]))
        return " ".join(opts) + " " if opts else ""

    def tags(self):
        if self.r.random() < 0.6:
            return self.pick(["", "", "NOPASSWD: ", "PASSWD: ", "NOEXEC: "])
        run = self.r.sample(TAGS, self.r.randint(1, 3))
        return "".join(t + self.pick([":", ": "]) for t in run) + " "

    def config(self):
        r = self.r
        self.patterned = False  # a pattern command was written: ask PATTERN_ASK too
        lines = []
        ua, ra, ha, ca = [], [], [], []
        for _ in range(r.randint(0, 2)):
            name = "U%d" % len(ua)
            lines.append("User_Alias %s = %s" % (name, ", ".join(self.lst(self.user_item, ua, 3))))
            ua.append(name)
        for _ in range(r.randint(0, 2)):
            name = "H%d" % len(ha)
            lines.append("Host_Alias %s = %s" % (name, ", ".join(self.lst(self.host_item, ha, 3))))
            ha.append(name)
        for _ in range(r.randint(0, 1)):
            name = "R%d" % len(ra)
            lines.append(
                "Runas_Alias %s = %s"
                % (name, ", ".join(self.lst(lambda a: self.pick(["root", "alice", "#0", "%ops", "ALL", *a]), ra, 2)))
            )
            ra.append(name)
        for _ in range(r.randint(0, 2)):
            name = "C%d" % len(ca)
            lines.append(
                "Cmnd_Alias %s = %s" % (name, ", ".join(self.lst(lambda a: self.pick(COMMANDS + a), ca, 3, 0.1)))
            )
            ca.append(name)
        for _ in range(r.randint(0, 2)):
            lines.append(self.defaults(ua, ha, ra))
        for _ in range(r.randint(1, 4)):
            lines.append(self.userspec(ua, ha, ra, ca))
        files = {}
        main = [MAIN_HEAD]
        drop = []
        for line in lines:
            (main if r.random() < 0.5 else drop).append(self.continued(line) + "\n")
        # Aliases must be defined before use: keep definitions in the main file order first.
        main_text = "".join(main)
        include, _read = self.pick(INCLUDES)
        files["/etc/sudoers"] = main_text + include
        # drop-ins: a read one, and ones sudo skips (a dot, a trailing ~)
        crlf = False
        if drop:
            mode = r.random()
            crlf = r.random() < 0.1
            if crlf:
                # sudo takes '\r' as a blank, except right after a command, where it rejects the
                # statement (visudo -c fails) and keeps the rest: such configurations are compared too.
                drop = [line.replace("\n", "\r\n") for line in drop]
            if mode < 0.6:
                files["/etc/sudoers.d/10-ops"] = "".join(drop)
            elif mode < 0.8:
                files["/etc/sudoers.d/pii_guard_tmp_j.smith"] = "".join(drop)  # skipped by sudo
            elif mode < 0.9:
                files["/etc/sudoers.d/old~"] = "".join(drop)  # skipped by sudo
            else:
                # an explicit @include reads a name with a dot
                files["/etc/sudoers"] = main_text + "@include /etc/sudoers.d/extra.conf\n" + include
                files["/etc/sudoers.d/extra.conf"] = "".join(drop)
        # Drop-ins that use aliases from the main file are fine; a drop-in that defines an alias
        # the main file uses later is not (order), so main never uses drop-in aliases: enforced by
        # the order above only when main comes first, which it does.
        named = set()
        for text in files.values():
            for c in COMMANDS:
                if c in text:
                    named.add(c)
        if self.patterned:
            named.update(self.r.sample(PATTERN_ASK, 2))  # 2 of them: keeps the run's time
        return {"files": files, "commands": sorted(named), "probe_invalid": crlf}

    def defaults(self, ua, ha, ra):
        flag = self.pick(["!authenticate", "!authenticate", "authenticate", "!lecture", "log_year"])
        kind = self.pick(["", ":", ":", "@", ">", "!"])
        if kind == "":
            return "Defaults %s" % flag
        if kind == "!":
            return "Defaults!%s %s" % (self.pick(["/usr/bin/id", PROBE, "/usr/bin/less", "/bin/sh"]), flag)
        if kind == ":":
            return "Defaults:%s %s" % (self.pick([*list(USERS), "%ops", "%devs", *ua]), flag)
        if kind == "@":
            return "Defaults@%s %s" % (self.pick(["web1", "web2", "web1.lab.example", *ha]), flag)
        return "Defaults>%s %s" % (self.pick(["root", "alice", *ra]), flag)

    def userspec(self, ua, ha, ra, ca):
        users = ", ".join(self.lst(self.user_item, ua, 2, 0.1))
        if all(u.startswith("!") for u in users.split(", ")):
            users = self.pick(list(USERS)) + ", " + users
        parts = []
        for _ in range(self.r.randint(1, 2)):
            hosts = ", ".join(self.lst(self.host_item, ha, 2, 0.2))
            cmnds = []
            for _ in range(self.r.randint(1, 3)):
                tag = (self.options() if self.r.random() < 0.25 else "") + self.tags()
                cmnds.append(
                    self.runas(ra) + " " + tag + self.cmnd(ca) if self.r.random() < 0.7 else tag + self.cmnd(ca)
                )
            parts.append("%s = %s" % (hosts, ", ".join(c.strip() for c in cmnds)))
        return "%s %s" % (users, " : ".join(parts))

    def continued(self, line):
        if len(line) > 30 and self.r.random() < 0.3:
            cut = line.find(", ", len(line) // 2)
            if cut > 0:
                return line[: cut + 1] + " \\\n    " + line[cut + 2 :]
        return line


def accounts(ct=None):
    """The accounts as the module builds them (admin_privileges.accounts_from), from the
    container's passwd and group when given, else from the model above."""
    if ct is not None:
        return AP.accounts_from(ct.passwd, ct.group)[0]
    users = [("root", 0, 0)]
    groups = [("root", 0, [])] + [
        (g, gid, [u for u, (_i, gs) in USERS.items() if g in gs]) for g, gid in GROUPS.items()
    ]
    for u, (uid, _gs) in USERS.items():
        if u in PRIMARY:
            users.append((u, uid, GROUPS[PRIMARY[u]]))
        else:
            users.append((u, uid, uid))
            groups.append((u, uid, []))
    return AP.accounts_from(users, groups)[0]


def verdict(files, ips, commands, ct=None):
    parsed = S.parse_file("/etc/sudoers", S.OverlayFS(files, ct.paths if ct is not None else S._NoFS()))
    host = S.HostInfo(HOSTNAME, ips)
    out = {}
    for a in accounts(ct):
        if a.name not in USERS:
            continue
        v = S.evaluate(parsed, a, host, extra_commands=commands)
        out[a.name] = {
            "any": v["any"],
            "all": v["all"],
            "nopasswd_all": v["all"] and v["nopasswd_all"],
            "commands": {c: c in v["commands"] for c in commands},
        }
    return out, parsed["errors"]


def compare(parser, sudo):
    """Yield (user, key, parser value, sudo value) for every disagreement."""
    for u, s in sudo.items():
        p = parser[u]
        for k in ("any", "all", "nopasswd_all"):
            if p[k] != s[k]:
                yield u, k, p[k], s[k]
        for c, allowed in s["commands"].items():
            if p["commands"].get(c) != allowed:
                yield u, c, p["commands"].get(c), allowed


def run(n, seed=13, batch=100, log=print):
    """Generate and compare ``n`` configurations; returns the counts and the first disagreements."""
    rng = random.Random(seed)
    stats = {"configs": 0, "invalid": 0, "recovered": 0, "verdicts": 0, "agree": 0, "over": 0, "under": 0}
    stats["parse_errors"] = 0
    examples = []
    t0 = time.time()
    with Container(image=os.environ.get("PII_GUARD_LAB_IMAGE", IMAGE)) as ct:
        gen = Gen(rng, ct.ips)
        done = 0
        while done < n:
            configs = [gen.config() for _ in range(min(batch, n - done))]
            t1 = time.time()
            answers = ct.ask(configs)
            stats["sudo_seconds"] = stats.get("sudo_seconds", 0) + round(time.time() - t1, 1)
            for cfg, ans in zip(configs, answers, strict=True):
                stats["configs"] += 1
                if not ans["valid"]:
                    stats["invalid" if not cfg.get("probe_invalid") else "recovered"] += 1
                    if not cfg.get("probe_invalid"):
                        continue
                parser, errors = verdict(cfg["files"], ct.ips, cfg["commands"], ct)
                if errors:
                    stats["parse_errors"] += 1
                for s in ans["users"].values():
                    stats["verdicts"] += 3 + len(s["commands"])
                diffs = list(compare(parser, ans["users"]))
                stats["agree"] += sum(3 + len(s["commands"]) for s in ans["users"].values()) - len(diffs)
                for u, k, pv, sv in diffs:
                    # over-report: the parser grants more than sudo; under-report: less.
                    stats["over" if pv and not sv else "under"] += 1
                    if len(examples) < 20 and not any(x["what"] == k for x in examples):
                        examples.append({"user": u, "what": k, "parser": pv, "sudo": sv, "files": cfg["files"]})
            done += len(configs)
            log(
                "[sudo-oracle] %d/%d configurations, %d verdicts, over %d, under %d, invalid %d (%.0f s)"
                % (done, n, stats["verdicts"], stats["over"], stats["under"], stats["invalid"], time.time() - t0)
            )
    stats["seconds"] = round(time.time() - t0, 1)
    return stats, examples


def main(argv=None):
    # SIGTERM leaves through SystemExit, so the container is removed (Container.__exit__).
    signal.signal(signal.SIGTERM, lambda *_a: sys.exit(143))
    argv = argv if argv is not None else sys.argv[1:]
    n = int(argv[0]) if argv else 10000
    seed = int(argv[1]) if len(argv) > 1 else int(os.environ.get("SUDO_ORACLE_SEED", "1013"))
    stats, examples = run(n, seed=seed)
    print(json.dumps(stats, indent=1))
    for e in examples[:5]:
        print(json.dumps(e, indent=1))
    return 0 if stats["over"] == 0 and stats["under"] == 0 and stats["invalid"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
