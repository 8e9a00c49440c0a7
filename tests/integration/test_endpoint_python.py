"""What ships to endpoints compiles cleanly with each lab release's own Python.

Debian 12 runs Python 3.11 on the endpoint, Debian 13 Python 3.13. 3.12 turned invalid escape
sequences into SyntaxWarning (an error in a later release) and 3.13 removed modules such as
crypt, pipes and telnetlib: compile every module, module_util and the download-alert agent
with warnings as errors and import the agent's standard-library dependencies, inside a
container of each release's image (no network, removed afterwards).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.lab import image  # noqa: E402

PYTHON = {"12": "3.11", "13": "3.13"}
# Compiles every file below /src; imports what the agent and module_utils import at module level.
CHECK = r"""
import ast, pathlib, sys, warnings
warnings.simplefilter("error")
bad, mods = [], set()
# modules shipped next to each other (the agent imports download_window from its own directory)
local = {p.stem for p in pathlib.Path("/src").rglob("*.py")}
# and packages shipped as directories (the agent's sliding_window)
local |= {p.parent.name for p in pathlib.Path("/src").rglob("__init__.py")}
for p in sorted(pathlib.Path("/src").rglob("*")):
    if p.is_file() and (p.suffix == ".py" or p.name == "pii-download-alert"):
        text = p.read_text()
        try:
            tree = compile(text, str(p), "exec", ast.PyCF_ONLY_AST)
            compile(tree, str(p), "exec")
        except (SyntaxError, SyntaxWarning) as exc:
            bad.append(f"{p}: {exc}")
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                mods.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mods.add(node.module.split(".")[0])
missing = []
for m in sorted(mods - local - {"ansible", "ansible_collections", "__future__"}):
    try:
        __import__(m)
    except ImportError as exc:
        missing.append(f"{m}: {exc}")
print("python", sys.version.split()[0])
print("files-ok" if not bad else "\n".join(bad))
print("imports-ok" if not missing else "\n".join(missing))
"""


def podman_env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(ROOT / "tests" / "lab" / "containers.conf")}


@pytest.mark.parametrize("release", sorted(image.RELEASES))
def test_endpoint_code_compiles_and_imports_on_the_release(release: str) -> None:
    ref = f"{image.IMAGE_REPO}:{release}"
    if subprocess.run(["podman", "image", "exists", ref], env=podman_env(), check=False).returncode != 0:
        pytest.skip(f"{ref} not built (tests/lab/lab.py --release {release} image; make molecule builds both)")
    mounts = [
        "-v", f"{ROOT / 'plugins' / 'modules'}:/src/modules:ro",
        "-v", f"{ROOT / 'plugins' / 'module_utils'}:/src/module_utils:ro",
        "-v", f"{ROOT / 'roles' / 'download_alert' / 'files'}:/src/agent:ro",
    ]  # fmt: skip
    r = subprocess.run(
        ["podman", "run", "--rm", "--network", "none", *mounts, ref, "python3", "-c", CHECK],
        env=podman_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f"python {PYTHON[release]}."), lines
    assert lines[1:] == ["files-ok", "imports-ok"], r.stdout
