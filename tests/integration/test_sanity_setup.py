"""The sanity set-up needs nothing from outside the package registries (issue 11).

ansible-test bootstraps pip into its virtualenvs with a get-pip script it downloads from a host
these machines cannot reach. A home directory that still held a cached copy hid that once. Here
the set-up step of tools/sanity.sh runs with a new, empty HOME, and then ansible-test's *own*
bootstrap script (built by ansible-test's prepare_pip_script, exactly as it runs it) puts pip into
an empty virtualenv inside a network namespace with no network at all; pip may read only a local
directory holding the pip wheel, standing in for the configured package index.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "tools" / "sanity_setup.py"


def _wanted_pip() -> str:
    from ansible_test._internal.python_requirements import get_venv_packages

    return get_venv_packages(SimpleNamespace(version=f"{sys.version_info[0]}.{sys.version_info[1]}"))["pip"]  # type: ignore[arg-type]


def _bootstrap_script() -> str:
    from ansible_test._internal.python_requirements import collect_bootstrap, prepare_pip_script

    python = SimpleNamespace(version=f"{sys.version_info[0]}.{sys.version_info[1]}")
    return prepare_pip_script(collect_bootstrap(python))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def pip_wheel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pip wheel ansible-test asks for, fetched through the configured package index."""
    d = tmp_path_factory.mktemp("wheels")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(d), f"pip=={_wanted_pip()}"],
        check=True,
    )
    return d


def test_setup_puts_stand_in_where_ansible_test_looks(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home)}
    for var in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "ANSIBLE_HOME"):
        env.pop(var, None)
    out = subprocess.run([sys.executable, str(SETUP)], env=env, check=True, capture_output=True, text=True).stdout
    expected = home / ".ansible" / "test" / "cache" / f"get_pip_{_wanted_pip().replace('.', '_')}.py"
    assert str(expected) in out.split()
    assert expected.read_bytes() == (ROOT / "tools" / "get_pip_offline.py").read_bytes()
    # A second run changes nothing.
    mtime = expected.stat().st_mtime_ns
    subprocess.run([sys.executable, str(SETUP)], env=env, check=True, capture_output=True)
    assert expected.stat().st_mtime_ns == mtime


@pytest.mark.parametrize("with_setup", [True, False], ids=["after-setup", "empty-home"])
def test_ansible_test_bootstrap_offline(tmp_path: Path, pip_wheel_dir: Path, with_setup: bool) -> None:
    """ansible-test's bootstrap succeeds offline after the set-up, and fails without it.

    The second case proves the first one is not passing by some other route (a reachable host
    or a warm cache): without the stand-in, ansible-test tries its download and fails.
    """
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "XDG_", "ANSIBLE_HOME"))}
    env.update(HOME=str(home), PIP_NO_INDEX="1", PIP_FIND_LINKS=str(pip_wheel_dir), PIP_CONFIG_FILE=os.devnull)
    if with_setup:
        subprocess.run([sys.executable, str(SETUP)], env=env, check=True, capture_output=True)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    script = tmp_path / "requirements.py"
    script.write_text(_bootstrap_script())
    # unshare -n: a network namespace with only a down loopback, so nothing outside can answer.
    r = subprocess.run(
        ["unshare", "-n", str(venv / "bin" / "python"), str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    pip_ok = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "--version"], capture_output=True, text=True)
    if with_setup:
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"pip {_wanted_pip()} " in pip_ok.stdout
    else:
        assert r.returncode != 0
        assert "Download failed" in r.stdout + r.stderr
        assert pip_ok.returncode != 0
