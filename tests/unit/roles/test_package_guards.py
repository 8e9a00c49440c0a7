"""The roles ask dpkg which packages are installed and give apt only the missing ones.

The role's own two tasks (read from its task file; the installer's module swapped for a debug of
the names it would get) run on this controller in check mode. The oracle is `dpkg -s`, another
command than the role's `dpkg-query --show`. A package that is not installed here must reach
apt (a guard that always said "installed" would leave a fresh host without auditd); one that is
installed must not, and when all are, apt must not run at all.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
NOT_A_PACKAGE = "pii-guard-no-such-package"

pytestmark = pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="needs dpkg (Debian)")


def installed(pkg: str) -> bool:
    r = subprocess.run(["dpkg", "-s", pkg], capture_output=True, text=True, check=False)
    return r.returncode == 0 and "Status: install ok installed" in r.stdout


INSTALLERS = ("ansible.builtin.apt", "ansible.builtin.package")


def role_tasks(role: str, file: str, names: list[str]) -> list[dict]:
    """The named tasks, as the role has them; the installer's module is swapped for a debug of
    the package names it would be given (its `when` kept): nothing is installed here."""
    tasks = yaml.safe_load((ROOT / "roles" / role / "tasks" / file).read_text(encoding="utf-8"))
    picked = [t for t in tasks if t.get("name") in names]
    assert [t["name"] for t in picked] == names, f"{role}/tasks/{file} no longer has {names}"
    for t in picked:
        for module in INSTALLERS:
            if module in t:
                t["ansible.builtin.debug"] = {"msg": t.pop(module)["name"]}
    return picked


def given_to_apt(result: dict) -> list[str] | None:
    """The package names the installer task would have been given; None when it was skipped."""
    if result.get("skipped"):
        return None
    msg = result["msg"]
    return [msg] if isinstance(msg, str) else sorted(msg)


def run(tmp_path: Path, role: str, tasks: list[dict], extra: dict) -> dict[str, dict]:
    """Results by task name of a --check run on localhost (JSON callback)."""
    vars_file = ROOT / "roles" / role / "vars" / "main.yml"
    play = [
        {
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "vars_files": [str(vars_file)] if vars_file.exists() else [],
            "tasks": tasks,
        }
    ]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play), encoding="utf-8")
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="json")
    out = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            "localhost,",
            "--check",
            str(tmp_path / "play.yml"),
            "-e",
            json.dumps({"ansible_python_interpreter": sys.executable, **extra}),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "{" in out.stdout, out.stdout + out.stderr
    # raw_decode: the profile_tasks timings ansible.cfg enables follow the document
    doc, _ = json.JSONDecoder().raw_decode(out.stdout, out.stdout.index("{"))
    return {t["task"]["name"]: t["hosts"]["localhost"] for t in doc["plays"][0]["tasks"]}


DL_TASKS = [
    "Install | which of auditd, python3, python3-jmespath and logrotate are installed",
    "Install | auditd, python3, python3-jmespath and logrotate, as far as the data sets need them",
]
DL_VARS = {
    "download_alert_manage_packages": True,
    "download_alert_pg_log_format": "jsonlog",
    "download_alert__config": {"datasets": [{"source": "audit"}, {"source": "jsonlog"}, {"source": "pgaudit"}]},
}


@pytest.mark.control("6-5.agent_running")
def test_download_alert_gives_apt_exactly_the_packages_dpkg_lacks(tmp_path: Path) -> None:
    results = run(tmp_path, "download_alert", role_tasks("download_alert", "install.yml", DL_TASKS), DL_VARS)
    wanted = ["auditd", "python3", "python3-jmespath", "logrotate"]
    missing = [p for p in wanted if not installed(p)]
    assert given_to_apt(results[DL_TASKS[1]]) == (sorted(missing) or None)


@pytest.mark.control("6-5.agent_running")
def test_download_alert_reaches_apt_with_a_package_dpkg_has_never_seen(tmp_path: Path) -> None:
    # The package list overridden: python3 is installed wherever this runs, the other is no package.
    extra = dict(DL_VARS, download_alert__packages=["python3", NOT_A_PACKAGE])
    results = run(tmp_path, "download_alert", role_tasks("download_alert", "install.yml", DL_TASKS), extra)
    assert results[DL_TASKS[0]]["rc"] == 1  # dpkg-query's answer for an unknown name; not a failure
    assert given_to_apt(results[DL_TASKS[1]]) == [NOT_A_PACKAGE]


@pytest.mark.control("6-5.agent_running")
def test_download_alert_skips_apt_when_everything_is_installed(tmp_path: Path) -> None:
    extra = dict(DL_VARS, download_alert__packages=["python3", "dpkg"])
    results = run(tmp_path, "download_alert", role_tasks("download_alert", "install.yml", DL_TASKS), extra)
    assert given_to_apt(results[DL_TASKS[1]]) is None


@pytest.mark.control("7-1.console_login_audit")
def test_system_room_installs_auditd_only_when_dpkg_lacks_it(tmp_path: Path) -> None:
    names = ["Is auditd installed", "Install auditd"]
    results = run(tmp_path, "system_room", role_tasks("system_room", "console.yml", names), {})
    assert given_to_apt(results["Install auditd"]) == (None if installed("auditd") else ["auditd"])


@pytest.mark.control("6-5.agent_running")
def test_download_alert_counts_only_fully_installed_packages_as_there(tmp_path: Path) -> None:
    # dpkg-query's lines for states no controller here is in: removed with its conffiles kept
    # (`apt remove`), half-configured, unpacked. The register is given as an extra var (which
    # outranks it); each such package must still reach apt.
    lines = [
        "deinstall ok config-files auditd",
        "install ok half-configured python3-jmespath",
        "install ok unpacked logrotate",
        "install ok installed python3",
    ]
    extra = dict(DL_VARS, download_alert__dpkg={"rc": 0, "stdout_lines": lines})
    results = run(tmp_path, "download_alert", role_tasks("download_alert", "install.yml", DL_TASKS), extra)
    assert given_to_apt(results[DL_TASKS[1]]) == ["auditd", "logrotate", "python3-jmespath"]
