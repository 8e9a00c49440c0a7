"""Put the offline get-pip stand-in where the installed ansible-test looks for it.

ansible-test bootstraps pip into each of its virtualenvs with a get-pip script that it
downloads from a host these machines cannot reach, unless the script is already cached at
``~/.ansible/test/cache/get_pip_<version>.py``. The pip version comes from the installed
ansible-test (``get_venv_packages``), for every Python version it supports, so an upgrade of
ansible-core needs no change here. Run with the venv's Python (ansible_test importable):

    python tools/sanity_setup.py            # install the stand-in(s), print where
    python tools/sanity_setup.py --list     # only print the paths ansible-test would read
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

STAND_IN = Path(__file__).resolve().with_name("get_pip_offline.py")


def pip_versions() -> set[str]:
    """Every pip version the installed ansible-test bootstraps, over all its Python versions."""
    from ansible_test._internal.python_requirements import get_venv_packages
    from ansible_test._util.target.common.constants import CONTROLLER_PYTHON_VERSIONS, REMOTE_ONLY_PYTHON_VERSIONS

    versions = (*REMOTE_ONLY_PYTHON_VERSIONS, *CONTROLLER_PYTHON_VERSIONS)
    # get_venv_packages reads only .version of its argument.
    return {get_venv_packages(SimpleNamespace(version=v))["pip"] for v in versions}  # type: ignore[arg-type]


def cache_path(pip_version: str) -> Path:
    # The same expression ansible-test's requirements.py bootstrap() uses.
    return Path("~/.ansible/test/cache").expanduser() / f"get_pip_{pip_version.replace('.', '_')}.py"


def install(paths: list[Path]) -> None:
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != STAND_IN.read_bytes():
            shutil.copyfile(STAND_IN, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print the paths only")
    args = parser.parse_args(argv)
    paths = [cache_path(v) for v in sorted(pip_versions())]
    if not args.list:
        install(paths)
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
