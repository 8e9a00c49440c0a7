"""The report bundle (issue 16, points 1 and 5): modes, SHA256SUMS, gpg and ssh signatures, verify.

The report is written by the real action plugin in an ansible-playbook run; signatures are made and
checked with the real gpg (a temporary GNUPGHOME) and ssh-keygen; digests are checked with the
real sha256sum as an auditor would.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import bundle as B

ROOT = Path(__file__).resolve().parents[3]
VERIFY = [sys.executable, "-m", "ansible_collections.pii_guard.safeguards.plugins.plugin_utils.bundle", "verify"]

PLAY = """
- name: Fake audited hosts
  hosts: all
  gather_facts: false
  tasks:
    - name: Findings as the roles leave them
      ansible.builtin.set_fact:
        pii_guard_findings:
          - {id: 6-6.uid0_accounts, clause: 6-6, status: "{{ uid0_status | default('pass') }}", observed: [root],
             expected: [root], evidence: {}}
          - {id: 8-5.annual_inspection, clause: 8-5, status: fail,
             observed: "=HYPERLINK(1)", expected: "", evidence: {}}
        pii_guard_audit_state: complete
        pii_guard_audit_started_at: "2026-11-28T05:00:00Z"

- name: Write the report
  hosts: all
  gather_facts: false
  tasks:
    - name: Report
      pii_guard.safeguards.audit_report:
        hosts: "{{ ansible_play_hosts_all }}"
        report_dir: "{{ report_dir }}"
        fail_on_findings: false
        sign_gpg_key: "{{ gpg_key | default(omit) }}"
        sign_gnupghome: "{{ gnupghome | default(omit) }}"
        sign_ssh_key: "{{ ssh_key | default(omit) }}"
        file_mode: "{{ file_mode | default(omit) }}"
        dir_mode: "{{ dir_mode | default(omit) }}"
        run_id: "{{ run_id | default(omit) }}"
      run_once: true
      delegate_to: localhost
      register: out

    - name: Show where
      ansible.builtin.debug:
        msg: "REPORT_DIR={{ out.report_dir }}"
      run_once: true
"""

INVENTORY = """
[linux]
web-01 ansible_connection=local
db-01 ansible_connection=local

[all:vars]
outsourcing_contractors=[{"name": "=HYPERLINK(\\"http://x\\")", "contract_id": "C-1"}]
"""


def run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False, **kw)


def play(tmp: Path, *args: str, **extra) -> subprocess.CompletedProcess:
    (tmp / "play.yml").write_text(PLAY)
    (tmp / "hosts.ini").write_text(INVENTORY)
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    env["PYTHONPATH"] = str(ROOT / ".cache" / "collections")
    extra = dict(extra, ansible_python_interpreter=sys.executable)
    cmd = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(tmp / "hosts.ini"), str(tmp / "play.yml")]
    return run([*cmd, *args, "-e", json.dumps(extra)], cwd=tmp, env=env)


def report_dir(proc: subprocess.CompletedProcess) -> Path:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if "REPORT_DIR=" in ln)
    return Path(line.split("REPORT_DIR=", 1)[1].strip().rstrip('"'))


class Keys:
    """Two OpenPGP keys (agency, other) in one temporary keyring; two SSH keys."""

    def __init__(self, base: Path) -> None:
        # gpg-agent's socket path must stay short: its own short directory under /tmp.
        self.gnupghome = tempfile.mkdtemp(prefix="pgg-")
        os.chmod(self.gnupghome, 0o700)
        self.fpr = {}
        for name in ("agency", "other"):
            uid = "%s <%s@agency.example>" % (name, name)
            gpg = ["gpg", "--homedir", self.gnupghome, "--batch", "--passphrase", ""]
            p = run([*gpg, "--quick-gen-key", uid, "ed25519", "sign", "never"])
            assert p.returncode == 0, p.stderr
            self.fpr[name] = B.gpg_secret_fingerprint("%s@agency.example" % name, self.gnupghome)
        self.ssh = {}
        for name in ("agency", "other"):
            key = base / ("ssh_" + name)
            p = run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)])
            assert p.returncode == 0, p.stderr
            self.ssh[name] = key
        self.allowed = base / "allowed_signers"
        pub = (base / "ssh_agency.pub").read_text().split()
        self.allowed.write_text('audit@agency.example namespaces="%s" %s %s\n' % (B.SSH_NAMESPACE, pub[0], pub[1]))

    def close(self) -> None:
        run(["gpgconf", "--homedir", self.gnupghome, "--kill", "gpg-agent"])
        shutil.rmtree(self.gnupghome, ignore_errors=True)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    k = Keys(tmp_path_factory.mktemp("keys"))
    yield k
    k.close()


@pytest.fixture(scope="module")
def signed(tmp_path_factory, keys) -> Path:
    """One signed bundle (gpg and ssh) written by the action plugin; tests copy it before tampering."""
    tmp = tmp_path_factory.mktemp("signed")
    proc = play(
        tmp,
        report_dir=str(tmp / "reports"),
        gpg_key="agency@agency.example",
        gnupghome=keys.gnupghome,
        ssh_key=str(keys.ssh["agency"]),
    )
    return report_dir(proc)


@pytest.fixture
def copy(signed, tmp_path) -> Path:
    dst = tmp_path / "bundle"
    shutil.copytree(signed, dst)
    return dst


def verify(d: Path, keys: Keys, **kw) -> list[str]:
    return B.verify(str(d), [keys.fpr["agency"]], gnupghome=keys.gnupghome, allowed_signers=str(keys.allowed), **kw)


def test_fresh_bundle_verifies_with_sha256sum_gpg_ssh_and_the_entry_point(signed, keys) -> None:
    names = sorted(p.name for p in signed.iterdir())
    sealed = ["SHA256SUMS", "SHA256SUMS.asc", "SHA256SUMS.sig", "manifest.json"]
    oscal = ["oscal-assessment-results.json", "oscal-component-definition.json"]
    assert names == sorted([*sealed, *oscal, "report.csv", "report.html", "report.json", "report.xml"])
    assert verify(signed, keys) == []
    # The plain tools an auditor has.
    p = run(["sha256sum", "--strict", "-c", "SHA256SUMS"], cwd=signed)
    assert p.returncode == 0 and p.stdout.count(": OK") == 7, p.stdout + p.stderr
    p = run(["gpg", "--homedir", keys.gnupghome, "--batch", "--verify", "SHA256SUMS.asc", "SHA256SUMS"], cwd=signed)
    assert p.returncode == 0 and "Good signature" in p.stderr
    ssh = ["ssh-keygen", "-Y", "verify", "-f", str(keys.allowed)]
    with open(signed / "SHA256SUMS", "rb") as fh:
        p = subprocess.run(
            [*ssh, "-I", "audit@agency.example", "-n", B.SSH_NAMESPACE, "-s", str(signed / "SHA256SUMS.sig")],
            stdin=fh,
            capture_output=True,
            text=True,
            check=False,
        )
    assert p.returncode == 0 and "Good" in p.stdout, p.stdout + p.stderr
    env = dict(os.environ, PYTHONPATH=str(ROOT / ".cache" / "collections"))
    args = ["--gpg-fingerprint", keys.fpr["agency"], "--gnupghome", keys.gnupghome]
    p = run([*VERIFY, str(signed), *args, "--allowed-signers", str(keys.allowed)], env=env)
    assert p.returncode == 0 and ": OK, every file matches SHA256SUMS" in p.stdout, p.stdout + p.stderr


def test_manifest_and_report_record_provenance_and_signing(signed, keys) -> None:
    m = json.loads((signed / "manifest.json").read_text())
    rep = json.loads((signed / "report.json").read_text())
    commit = run(["git", "-C", str(ROOT), "rev-parse", "HEAD"]).stdout.strip()
    assert m["git_commit"] == commit == rep["run"]["git_commit"]
    assert m["collection_version"].startswith("pii_guard.safeguards ")
    assert m["controller"] == os.uname().nodename and m["hosts"] == ["db-01", "web-01"]
    assert m["started_at"] == "2026-11-28T05:00:00Z" and m["finished_at"] == rep["run"]["finished_at"]
    (inv,) = m["inventory"]
    assert inv["source"].endswith("hosts.ini")
    assert inv["sha256"] == B.sha256_file(inv["source"])
    # The register the run saw, per host, canonical JSON digest.
    seen = {h: [{"name": '=HYPERLINK("http://x")', "contract_id": "C-1"}] for h in ("db-01", "web-01")}
    assert m["registers_sha256"]["outsourcing_contractors"] == B.digest_value(seen)
    assert m["registers_sha256"]["system_room_register"] is None
    sig = {"signed": True, "gpg_fingerprint": keys.fpr["agency"], "ssh_namespace": B.SSH_NAMESPACE}
    assert {k: rep["run"]["signing"][k] for k in sig} == sig == {k: m["signing"][k] for k in sig}
    assert rep["run"]["signing"]["ssh_fingerprint"] == B.ssh_fingerprint(str(keys.ssh["agency"]))
    html = (signed / "report.html").read_text()
    assert "署名あり / signed: OpenPGP " + keys.fpr["agency"] in html


def test_files_are_0600_in_0700_directories(signed) -> None:
    for d in (signed, signed.parent):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    for f in signed.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


@pytest.mark.parametrize(
    "name",
    ["report.json", "report.html", "report.csv", "report.xml", "manifest.json", "oscal-assessment-results.json"],
)
def test_one_changed_byte_in_any_file_fails(copy, keys, name) -> None:
    path = copy / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    problems = verify(copy, keys)
    assert problems == [problems[0]] and problems[0].startswith(name + ": content changed after the run")
    assert run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=copy).returncode != 0


def test_changed_sums_fail_both_signatures(copy, keys) -> None:
    # Whoever edits a report and updates SHA256SUMS to match still cannot sign it.
    (copy / "report.csv").write_text("host\n")
    (copy / "SHA256SUMS").write_text(B.sums_text(str(copy)))
    problems = verify(copy, keys)
    assert len(problems) == 2
    assert problems[0].startswith("SHA256SUMS.asc: the OpenPGP signature does not match SHA256SUMS")
    assert problems[1].startswith("SHA256SUMS.sig: does not verify for audit@agency.example")


def test_removed_file_fails(copy, keys) -> None:
    (copy / "report.xml").unlink()
    assert verify(copy, keys) == ["report.xml: listed in SHA256SUMS but missing (removed after the run)"]
    (copy / "SHA256SUMS").unlink()
    assert verify(copy, keys)[0].startswith("%s: no SHA256SUMS" % copy)


def test_added_file_fails(copy, keys) -> None:
    (copy / "extra.html").write_text("<p>all compliant</p>")
    assert verify(copy, keys) == ["extra.html: not listed in SHA256SUMS (added after the run)"]


def test_resigned_with_another_gpg_key_fails(copy, keys) -> None:
    B.sign_gpg(str(copy), "other@agency.example", keys.gnupghome)
    (problem,) = verify(copy, keys)
    assert problem.startswith("SHA256SUMS.asc: signed by key ") and keys.fpr["other"] in problem
    assert problem.endswith("expected %s (re-signed with another key)" % keys.fpr["agency"])
    # An auditor whose keyring holds only the agency's key sees an unknown signer.
    only = tempfile.mkdtemp(prefix="pga-")
    try:
        exp = run(["gpg", "--homedir", keys.gnupghome, "--batch", "--armor", "--export", keys.fpr["agency"]])
        assert exp.returncode == 0
        imp = subprocess.run(["gpg", "--homedir", only, "--batch", "--import"], input=exp.stdout.encode(),
                             capture_output=True, check=False)  # fmt: skip
        assert imp.returncode == 0
        problems = B.check_gpg(str(copy), [keys.fpr["agency"]], only)
        assert len(problems) == 1 and "which is not in the keyring given" in problems[0]
    finally:
        run(["gpgconf", "--homedir", only, "--kill", "gpg-agent"])
        shutil.rmtree(only, ignore_errors=True)


def test_resigned_with_another_ssh_key_fails(copy, keys) -> None:
    B.sign_ssh(str(copy), str(keys.ssh["other"]))
    (problem,) = verify(copy, keys)
    assert problem.startswith("SHA256SUMS.sig: made by a key that is not in %s" % keys.allowed)
    # Naming the identity gives the same refusal from ssh-keygen -Y verify.
    (problem,) = verify(copy, keys, identity="audit@agency.example")
    assert problem.startswith("SHA256SUMS.sig: does not verify for audit@agency.example")


def test_removed_signature_fails_when_a_key_is_expected(copy, keys) -> None:
    (copy / "SHA256SUMS.asc").unlink()
    (copy / "SHA256SUMS.sig").unlink()
    assert verify(copy, keys) == [
        "SHA256SUMS.asc: missing, the bundle has no OpenPGP signature",
        "SHA256SUMS.sig: missing, the bundle has no SSH signature",
    ]


def test_entry_point_fails_with_the_reason(copy, keys) -> None:
    (copy / "report.html").write_text("<p>edited</p>")
    env = dict(os.environ, PYTHONPATH=str(ROOT / ".cache" / "collections"))
    p = run([*VERIFY, str(copy), "--gpg-fingerprint", keys.fpr["agency"], "--gnupghome", keys.gnupghome], env=env)
    assert p.returncode == 1
    assert (
        "FAILED: report.html: content changed after the run" in p.stdout and "NOT verified (1 problem(s))" in p.stdout
    )


def test_unsigned_run_says_so_and_modes_are_configurable(tmp_path) -> None:
    d = report_dir(play(tmp_path, report_dir=str(tmp_path / "r"), file_mode="0640", dir_mode="0750"))
    assert sorted(p.name for p in d.iterdir() if p.name.startswith("SHA")) == ["SHA256SUMS"]
    rep = json.loads((d / "report.json").read_text())
    assert rep["run"]["signing"] == {"signed": False, "gpg_fingerprint": None, "ssh_fingerprint": None,
                                     "ssh_namespace": None}  # fmt: skip
    assert "署名なし / unsigned" in (d / "report.html").read_text()
    assert B.verify(str(d)) == []
    assert stat.S_IMODE(d.stat().st_mode) == 0o750
    assert {stat.S_IMODE(f.stat().st_mode) for f in d.iterdir()} == {0o640}
    # CSV from the real run: the formula-like contractor name is text.
    csv_text = (d / "report.csv").read_text()
    assert "'=HYPERLINK(1)" in csv_text and ",=HYPERLINK" not in csv_text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"file_mode": "644; rm"},
            "file_mode (pii_guard_audit_report_file_mode) must be an octal mode string like '0600', got '644; rm'",
        ),
        (
            {"dir_mode": "0800"},
            "dir_mode (pii_guard_audit_report_dir_mode) must be an octal mode string like '0700', got '0800'",
        ),
        (
            {"gpg_key": "--homedir=/tmp"},
            "pii_guard_audit_sign_gpg_key '--homedir=/tmp' is not a key id, fingerprint or mail address",
        ),
        (
            {"gpg_key": "nobody@agency.example"},
            "pii_guard_audit_sign_gpg_key: gpg has no secret key nobody@agency.example",
        ),
        ({"run_id": "4711; rm -rf /"}, "run_id (pii_guard_audit_run_id) must be letters, digits"),
        ({"ssh_key": "/nonexistent/key"}, "sign_ssh_key (pii_guard_audit_sign_ssh_key) /nonexistent/key is not a file"),
    ],
)
def test_bad_settings_fail_before_any_file_is_written(tmp_path, keys, extra, message) -> None:
    extra = dict(extra, report_dir=str(tmp_path / "r"), gnupghome=keys.gnupghome)
    p = play(tmp_path, **extra)
    assert p.returncode != 0 and message in p.stdout, p.stdout
    assert not (tmp_path / "r").exists()


def test_runs_kept_under_report_dir_are_compared_like_with_like(tmp_path) -> None:
    """Three real runs into one report_dir: full, --limit, full with a new failure."""
    rd = str(tmp_path / "reports")
    first = report_dir(play(tmp_path, report_dir=rd))
    limited = report_dir(play(tmp_path, "--limit", "web-01", report_dir=rd, uid0_status="fail"))
    third = report_dir(play(tmp_path, report_dir=rd, uid0_status="fail"))
    lim = json.loads((limited / "report.json").read_text())
    assert lim["changes"]["previous"] is None and lim["changes"]["scope"]["limit"] == "web-01"
    doc = json.loads((third / "report.json").read_text())
    ch = doc["changes"]
    assert ch["previous"]["report_dir"] == str(first)
    assert {(e["host"], e["id"]) for e in ch["new_failures"]} == {
        ("web-01", "6-6.uid0_accounts"),
        ("db-01", "6-6.uid0_accounts"),
    }
    assert {(e["host"], e["id"]) for e in ch["still_failing"]} == {
        ("web-01", "8-5.annual_inspection"),
        ("db-01", "8-5.annual_inspection"),
    }
    assert ch["fixed"] == [] and ch["hosts_added"] == [] and ch["hosts_gone"] == []
    assert len(doc["trend"]["runs"]) == 2
    assert 'class="trend"' in (third / "report.html").read_text()
    assert B.verify(str(third)) == []


def test_the_run_writes_oscal_that_trestle_accepts(signed) -> None:
    from trestle.oscal.assessment_results import AssessmentResults
    from trestle.oscal.component import ComponentDefinition

    ar = json.loads((signed / "oscal-assessment-results.json").read_text())["assessment-results"]
    cd = json.loads((signed / "oscal-component-definition.json").read_text())["component-definition"]
    (result,) = AssessmentResults.model_validate(ar).results
    assert len(result.findings) == 4  # two hosts x two findings
    assert ComponentDefinition.model_validate(cd).components[0].title == "pii_guard.safeguards"
