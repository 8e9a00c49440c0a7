# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report bundle auditors can trust: SHA256SUMS, detached signatures, verification.

Controller only. A report directory holds the report files, ``manifest.json`` and ``SHA256SUMS``
(every other file, in the format of ``sha256sum``, so ``sha256sum -c SHA256SUMS`` checks it), plus
optionally ``SHA256SUMS.asc`` (OpenPGP, ``gpg --detach-sign --armor``) and ``SHA256SUMS.sig``
(``ssh-keygen -Y sign`` with namespace SSH_NAMESPACE). The signatures cover SHA256SUMS, which
covers every file, so one signature check plus one digest check proves the whole directory.

Verify from a shell (the collection on PYTHONPATH)::

    python -m ansible_collections.pii_guard.safeguards.plugins.plugin_utils.bundle verify DIR \\
        [--gpg-fingerprint FPR [--gnupghome DIR]] [--allowed-signers FILE [--identity NAME]]

It exits 0 when the bundle is intact (and, when a key was given, signed by it), else 1 with one
line per problem.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys

SUMS = "SHA256SUMS"
SIG_GPG = "SHA256SUMS.asc"
SIG_SSH = "SHA256SUMS.sig"
MANIFEST = "manifest.json"
SIGNATURE_FILES = (SIG_GPG, SIG_SSH)
SSH_NAMESPACE = "pii-guard-audit-report"
# What may follow "--local-user": a key id or fingerprint (hex), or a mail address. Never a
# leading "-" (gpg would read it as an option).
GPG_KEY = re.compile(r"(0x)?[0-9A-Fa-f]{8,40}|[A-Za-z0-9._%+][A-Za-z0-9._%+-]*@[A-Za-z0-9.-]+")
GPG_FPR = re.compile(r"(0x)?[0-9A-Fa-f]{40}")
# Names this bundle writes: plain file names, no path, no character sha256sum would escape.
NAME = re.compile(r"[A-Za-z0-9._-]+")
SUM_LINE = re.compile(r"([0-9a-f]{64}) [ *]([A-Za-z0-9._-]+)")


class BundleError(Exception):
    """A bundle that cannot be written, signed or verified; the message says what and where."""


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def _covered(directory):
    """The files SHA256SUMS covers: every entry of the directory but SHA256SUMS and signatures."""
    names = sorted(n for n in os.listdir(directory) if n != SUMS and n not in SIGNATURE_FILES)
    for n in names:
        if not NAME.fullmatch(n):
            raise BundleError("%s: file name %r is not a plain report file name" % (directory, n))
        if not os.path.isfile(os.path.join(directory, n)) or os.path.islink(os.path.join(directory, n)):
            raise BundleError("%s: %s is not a regular file" % (directory, n))
    return names


def sums_text(directory):
    """The SHA256SUMS content for ``directory`` (the format ``sha256sum`` writes and -c reads)."""
    return "".join("%s  %s\n" % (sha256_file(os.path.join(directory, n)), n) for n in _covered(directory))


def _run(argv, stdin=None):
    try:
        return subprocess.run(argv, input=stdin, capture_output=True, check=False)
    except OSError as e:
        raise BundleError("cannot run %s: %s" % (argv[0], e))


def _err(proc):
    return (proc.stderr or b"").decode("utf-8", "replace").strip().replace("\n", " | ")


def gpg_env(gnupghome=None):
    env = dict(os.environ)
    if gnupghome:
        env["GNUPGHOME"] = gnupghome
    return env


def gpg_secret_fingerprint(key, gnupghome=None):
    """Fingerprint of the secret key ``key`` names, checked before anything is written."""
    if not isinstance(key, str) or not GPG_KEY.fullmatch(key):
        raise BundleError("pii_guard_audit_sign_gpg_key %r is not a key id, fingerprint or mail address" % (key,))
    argv = ["gpg", "--batch", "--with-colons", "--fingerprint"]
    if gnupghome:
        argv += ["--homedir", gnupghome]
    proc = _run([*argv, "--list-secret-keys", "--", key])
    lines = (proc.stdout or b"").decode("utf-8", "replace").splitlines()
    secs = [ln for ln in lines if ln.startswith("sec:")]
    if proc.returncode != 0 or not secs:
        raise BundleError(
            "pii_guard_audit_sign_gpg_key: gpg has no secret key %s%s" % (key, " in " + gnupghome if gnupghome else "")
        )
    if len(secs) > 1:
        raise BundleError("gpg key %s names %d secret keys; give its fingerprint" % (key, len(secs)))
    for ln in lines[lines.index(secs[0]) + 1 :]:
        if ln.startswith("fpr:"):
            return ln.split(":")[9].upper()
    raise BundleError("gpg shows no fingerprint for key %s" % key)


def sign_gpg(directory, key, gnupghome=None):
    """Write SHA256SUMS.asc; return the signing key's fingerprint."""
    if not isinstance(key, str) or not GPG_KEY.fullmatch(key):
        raise BundleError("gpg key %r is not a key id, fingerprint or mail address" % (key,))
    argv = ["gpg", "--batch", "--yes", "--pinentry-mode", "loopback", "--status-fd", "1"]
    if gnupghome:
        argv += ["--homedir", gnupghome]
    argv += ["--local-user", key, "--armor", "--detach-sign", "--output"]
    argv += [os.path.join(directory, SIG_GPG), os.path.join(directory, SUMS)]
    proc = _run(argv)
    fpr = None
    for line in (proc.stdout or b"").decode("utf-8", "replace").splitlines():
        parts = line.split()
        # [GNUPG:] SIG_CREATED <type> <pk_algo> <hash_algo> <class> <timestamp> <fpr>
        if len(parts) >= 8 and parts[1] == "SIG_CREATED":
            fpr = parts[7]
    if proc.returncode != 0 or not fpr:
        raise BundleError("gpg could not sign %s with key %s: %s" % (SUMS, key, _err(proc) or "no signature"))
    return fpr.upper()


def ssh_fingerprint(key_path):
    """SHA256 fingerprint of an SSH key (private or public key file)."""
    proc = _run(["ssh-keygen", "-l", "-E", "sha256", "-f", key_path])
    out = (proc.stdout or b"").decode("utf-8", "replace").split()
    if proc.returncode != 0 or len(out) < 2:
        raise BundleError("ssh-keygen cannot read the key %s: %s" % (key_path, _err(proc)))
    return out[1]


def sign_ssh(directory, key_path):
    """Write SHA256SUMS.sig with ``ssh-keygen -Y sign``; return the key's SHA256 fingerprint.

    key_path is a private key without passphrase, or a public key whose private half is in
    ssh-agent (the run has no terminal to ask for a passphrase)."""
    if not isinstance(key_path, str) or not os.path.isfile(key_path):
        raise BundleError("ssh signing key %r is not a file" % (key_path,))
    fpr = ssh_fingerprint(key_path)
    sums = os.path.join(directory, SUMS)
    sig = sums + ".sig"
    if os.path.exists(sig):
        os.unlink(sig)
    proc = _run(["ssh-keygen", "-Y", "sign", "-f", key_path, "-n", SSH_NAMESPACE, sums], stdin=b"")
    if proc.returncode != 0 or not os.path.isfile(sig):
        raise BundleError("ssh-keygen could not sign %s with %s: %s" % (SUMS, key_path, _err(proc)))
    return fpr


def write_sums(directory, mode=0o600):
    path = os.path.join(directory, SUMS)
    text = sums_text(directory)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, mode)
    return path


def digest_value(value):
    """sha256 of a JSON value in canonical form (sorted keys, no spacing): same data, same digest."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    # a lone surrogate as its JSON escape, as the report files hold it (report.encodable)
    return hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()


def digest_source(source):
    """sha256 of an inventory source: a file's bytes; a directory's files (relative name and
    digest of each, sorted; .git left out); else the source string itself (a host list)."""
    if os.path.isfile(source):
        return sha256_file(source)
    if os.path.isdir(source):
        h = hashlib.sha256()
        for top, dirs, files in os.walk(source):
            dirs[:] = sorted(d for d in dirs if d != ".git")
            for f in sorted(files):
                path = os.path.join(top, f)
                if os.path.isfile(path):
                    rel = os.path.relpath(path, source)
                    h.update(("%s\0%s\n" % (rel, sha256_file(path))).encode("utf-8", "surrogateescape"))
        return h.hexdigest()
    return hashlib.sha256(source.encode("utf-8", "surrogateescape")).hexdigest()


def git_commit(root):
    """``(commit, dirty)`` of the git checkout at ``root``, or ``(None, None)`` outside one."""
    if not os.path.exists(os.path.join(root, ".git")):
        return None, None
    proc = _run(["git", "-C", root, "rev-parse", "HEAD"])
    commit = (proc.stdout or b"").decode("ascii", "replace").strip()
    if proc.returncode != 0 or not re.fullmatch(r"[0-9a-f]{40}", commit):
        return None, None
    st = _run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"])
    return commit, bool((st.stdout or b"").strip()) if st.returncode == 0 else None


# ------------------------------------------------------------------------- verification


def _parse_sums(directory):
    path = os.path.join(directory, SUMS)
    if not os.path.isfile(path):
        raise BundleError("%s: no %s (not a signed report bundle, or it was removed)" % (directory, SUMS))
    listed, problems = {}, []
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return {}, ["%s is not UTF-8 text (it was changed)" % SUMS]
    for n, line in enumerate(text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"), 1):
        m = SUM_LINE.fullmatch(line)
        if not m:
            problems.append("%s line %d is not '<sha256>  <file name>': %r" % (SUMS, n, line[:120]))
            continue
        if m.group(2) in listed or m.group(2) == SUMS or m.group(2) in SIGNATURE_FILES:
            problems.append("%s line %d lists %s again or lists itself" % (SUMS, n, m.group(2)))
            continue
        listed[m.group(2)] = m.group(1)
    return listed, problems


def check_digests(directory):
    """Problems with the files against SHA256SUMS: changed, missing, added."""
    listed, problems = _parse_sums(directory)
    for name, digest in sorted(listed.items()):
        path = os.path.join(directory, name)
        if not os.path.lexists(path):
            problems.append("%s: listed in %s but missing (removed after the run)" % (name, SUMS))
        elif os.path.islink(path) or not os.path.isfile(path):
            problems.append("%s: not a regular file" % name)
        else:
            actual = sha256_file(path)
            if actual != digest:
                problems.append(
                    "%s: content changed after the run (sha256 %s, %s says %s)" % (name, actual, SUMS, digest)
                )
    for name in sorted(os.listdir(directory)):
        if name != SUMS and name not in SIGNATURE_FILES and name not in listed:
            problems.append("%s: not listed in %s (added after the run)" % (name, SUMS))
    return problems


def check_gpg(directory, fingerprints, gnupghome=None):
    """Problems with SHA256SUMS.asc: missing, bad, or made by a key other than ``fingerprints``."""
    want = set()
    for f in fingerprints:
        if not GPG_FPR.fullmatch(f or ""):
            return ["expected gpg fingerprint %r is not 40 hex digits" % (f,)]
        want.add(f.upper().replace("0X", ""))
    sig = os.path.join(directory, SIG_GPG)
    if not os.path.isfile(sig):
        return ["%s: missing, the bundle has no OpenPGP signature" % SIG_GPG]
    argv = ["gpg", "--batch", "--status-fd", "1"]
    if gnupghome:
        argv += ["--homedir", gnupghome]
    proc = _run([*argv, "--verify", sig, os.path.join(directory, SUMS)])
    valid, bad, nokey = [], False, []
    for line in (proc.stdout or b"").decode("utf-8", "replace").splitlines():
        parts = line.split()
        if len(parts) < 3 or parts[0] != "[GNUPG:]":
            continue
        # VALIDSIG <fpr> <date> ... <primary-key-fpr> (last field); BADSIG/ERRSIG/NO_PUBKEY <keyid>
        if parts[1] == "VALIDSIG":
            valid.append({parts[2].upper(), parts[-1].upper()})
        elif parts[1] == "BADSIG":
            bad = True
        elif parts[1] in ("ERRSIG", "NO_PUBKEY"):
            nokey.append(parts[2])
    if bad or (proc.returncode != 0 and not nokey and not valid):
        return ["%s: the OpenPGP signature does not match %s (changed after signing): %s" % (SIG_GPG, SUMS, _err(proc))]
    if not valid:
        return [
            "%s: signed by key %s, which is not in the keyring given (re-signed with another key?)"
            % (SIG_GPG, ", ".join(sorted(set(nokey))) or "?")
        ]
    if not any(v & want for v in valid):
        return [
            "%s: signed by key %s, expected %s (re-signed with another key)"
            % (SIG_GPG, ", ".join(sorted(x for v in valid for x in v)), ", ".join(sorted(want)))
        ]
    return []


def check_ssh(directory, allowed_signers, identity=None):
    """Problems with SHA256SUMS.sig against an allowed_signers file (``ssh-keygen -Y verify``)."""
    sig = os.path.join(directory, SIG_SSH)
    if not os.path.isfile(sig):
        return ["%s: missing, the bundle has no SSH signature" % SIG_SSH]
    if not os.path.isfile(allowed_signers):
        return ["allowed signers file %s does not exist" % allowed_signers]
    with open(os.path.join(directory, SUMS), "rb") as fh:
        data = fh.read()
    if identity is None:
        proc = _run(["ssh-keygen", "-Y", "find-principals", "-f", allowed_signers, "-s", sig])
        names = (proc.stdout or b"").decode("utf-8", "replace").split()
        if proc.returncode != 0 or not names:
            return [
                "%s: made by a key that is not in %s (re-signed with another key?): %s"
                % (SIG_SSH, allowed_signers, _err(proc) or "no principal")
            ]
        identity = names[0]
    proc = _run(
        ["ssh-keygen", "-Y", "verify", "-f", allowed_signers, "-I", identity, "-n", SSH_NAMESPACE, "-s", sig],
        stdin=data,
    )
    if proc.returncode != 0:
        return [
            "%s: does not verify for %s against %s (changed after signing, or another key): %s"
            % (SIG_SSH, identity, allowed_signers, _err(proc) or (proc.stdout or b"").decode("utf-8", "replace"))
        ]
    return []


def verify(directory, gpg_fingerprints=(), gnupghome=None, allowed_signers=None, identity=None):
    """Every problem of the bundle in ``directory`` (empty list: intact, and signed as asked)."""
    if not os.path.isdir(directory):
        return ["%s is not a directory" % directory]
    try:
        problems = check_digests(directory)
    except BundleError as e:
        return [str(e)]
    if gpg_fingerprints:
        problems += check_gpg(directory, list(gpg_fingerprints), gnupghome)
    if allowed_signers:
        problems += check_ssh(directory, allowed_signers, identity)
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python -m ansible_collections.pii_guard.safeguards.plugins.plugin_utils.bundle",
        description="Verify an audit report bundle (SHA256SUMS and its signatures).",
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify", help="check every file against SHA256SUMS and the signatures")
    v.add_argument("directory")
    v.add_argument("--gpg-fingerprint", action="append", default=[], help="accepted OpenPGP key (40 hex)")
    v.add_argument("--gnupghome", help="keyring holding the public key (default: gpg's)")
    v.add_argument("--allowed-signers", help="ssh allowed_signers file holding the accepted SSH key")
    v.add_argument("--identity", help="principal in allowed_signers (default: whichever matches)")
    args = ap.parse_args(argv)
    problems = verify(args.directory, args.gpg_fingerprint, args.gnupghome, args.allowed_signers, args.identity)
    for p in problems:
        sys.stdout.write("FAILED: %s\n" % p)
    if problems:
        sys.stdout.write("%s: NOT verified (%d problem(s))\n" % (args.directory, len(problems)))
        return 1
    signed = []
    if args.gpg_fingerprint:
        signed.append("OpenPGP " + ", ".join(args.gpg_fingerprint))
    if args.allowed_signers:
        signed.append("SSH per " + args.allowed_signers)
    sys.stdout.write(
        "%s: OK, every file matches %s; signature: %s\n"
        % (args.directory, SUMS, "; ".join(signed) if signed else "NOT checked (no key given)")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
