"""The collection as users get it: built tarball, offline install, docs, inventory, EE context.

Everything runs against the *installed* copy in a temporary path, from a directory without the
repository's ansible.cfg and without PYTHONPATH, so nothing resolves through the checkout.
"""

from __future__ import annotations

import ast
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.registers import download_ack

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
VERSION = GALAXY["version"]
TARBALL = f"pii_guard-safeguards-{VERSION}.tar.gz"

# Paths that must never ship: test/lab/dev clutter and build leftovers.
FORBIDDEN_PREFIXES = (
    "tests/",
    "extensions/",
    "tools/",
    ".venv/",
    ".cache/",
    ".lab/",
    ".git/",
    ".ci/",
    "reports/",
    "build/",
    "context/",
    "inventories/lab/",
    ".pytest_cache/",
    ".ruff_cache/",
    ".hypothesis/",
)
FORBIDDEN_NAMES = {"Makefile", "requirements.txt", "ansible.cfg", "pyproject.toml", ".gitignore"}


def _env(**extra: str) -> dict[str, str]:
    """Environment of a user with only the venv's tools: no ANSIBLE_* and no PYTHONPATH from make."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") and k != "PYTHONPATH"}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["ANSIBLE_NOCOLOR"] = "1"
    env.update(extra)
    return env


def _run(args: list[str], cwd: Path, **extra: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, env=_env(**extra), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


def _tracked(prefix: str) -> list[str]:
    """Files git knows or would add (tracked + untracked, not ignored) under prefix."""
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", prefix], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [p for p in out.splitlines() if p]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("collection")


@pytest.fixture(scope="module")
def tarball(work: Path) -> Path:
    out = work / "build"
    _run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(out), str(ROOT)], cwd=work)
    path = out / TARBALL
    assert path.is_file()
    return path


@pytest.fixture(scope="module")
def installed(work: Path, tarball: Path) -> Path:
    """`ansible-galaxy collection install --offline` of the tarball; returns the collections path."""
    dest = work / "collections"
    proc = _run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-p", str(dest), str(tarball)],
        cwd=work,
    )
    assert "pii_guard.safeguards:%s was installed successfully" % VERSION in proc.stdout
    coll = dest / "ansible_collections" / "pii_guard" / "safeguards"
    manifest = json.loads((coll / "MANIFEST.json").read_text())
    assert manifest["collection_info"]["version"] == VERSION
    return dest


def _coll(installed: Path) -> Path:
    return installed / "ansible_collections" / "pii_guard" / "safeguards"


def _doc(installed: Path, work: Path, plugin_type: str, names: list[str]) -> dict:
    proc = _run(
        [str(BIN / "ansible-doc"), "--json", "-t", plugin_type, *names],
        cwd=work,
        ANSIBLE_COLLECTIONS_PATH=str(installed),
    )
    return json.loads(proc.stdout)


def test_tarball_has_no_clutter_and_everything_shipped(tarball: Path) -> None:
    with tarfile.open(tarball) as tar:
        members = [m.name for m in tar.getmembers()]
    clutter = [
        m
        for m in members
        if m.startswith(FORBIDDEN_PREFIXES)
        or m.rstrip("/") in {p.rstrip("/") for p in FORBIDDEN_PREFIXES}
        or Path(m).name in FORBIDDEN_NAMES
        or "__pycache__" in m
        or m.endswith((".pyc", ".tar.gz", ".retry"))
    ]
    assert clutter == [], f"test/lab/dev files in the built collection: {clutter}"
    names = set(members)
    # Everything users run must be in it: every tracked plugin, role, playbook and meta file.
    shipped = [p for d in ("plugins", "roles", "playbooks", "meta") for p in _tracked(d)]
    missing = [p for p in shipped if p not in names and "__pycache__" not in p]
    assert missing == [], f"tracked files missing from the tarball: {missing}"
    for required in ("MANIFEST.json", "FILES.json", "README.md", "meta/runtime.yml", "meta/controls.yml"):
        assert required in names
    assert any(n.startswith("inventories/example/") for n in names), "the example inventory should ship"


def test_offline_install_is_complete(installed: Path, tarball: Path) -> None:
    coll = _coll(installed)
    files = json.loads((coll / "FILES.json").read_text())["files"]
    on_disk = [f["name"] for f in files if f["ftype"] == "file"]
    assert on_disk, "FILES.json lists no files"
    assert [n for n in on_disk if not (coll / n).is_file()] == []
    # The installed tree resolves without the checkout: `ansible-galaxy collection list` sees it there.
    proc = _run(
        [str(BIN / "ansible-galaxy"), "collection", "list", "pii_guard.safeguards", "--format", "json"],
        cwd=installed,
        ANSIBLE_COLLECTIONS_PATH=str(installed),
    )
    listing = json.loads(proc.stdout)
    paths = [p for p, colls in listing.items() if "pii_guard.safeguards" in colls]
    assert paths == [str(installed / "ansible_collections")]
    assert listing[paths[0]]["pii_guard.safeguards"]["version"] == VERSION


def test_ansible_doc_renders_every_module(installed: Path, work: Path) -> None:
    coll = _coll(installed)
    modules = sorted(p.stem for p in (coll / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
    repo_modules = sorted(Path(p).stem for p in _tracked("plugins/modules") if p.endswith(".py"))
    assert modules == [m for m in repo_modules if m != "__init__"]
    assert modules, "the collection ships no modules"
    fqcns = [f"pii_guard.safeguards.{m}" for m in modules]
    docs = _doc(installed, work, "module", fqcns)
    assert sorted(docs) == sorted(fqcns)
    for fqcn, entry in docs.items():
        doc = entry["doc"]
        assert doc["short_description"], fqcn
        assert doc["description"], fqcn
        assert str(installed) in doc["filename"], f"{fqcn} resolved outside the installed copy: {doc['filename']}"
        assert entry["examples"] and entry["examples"].strip(), f"{fqcn} has no EXAMPLES"
        assert entry["return"], f"{fqcn} has no RETURN"
        # The rendered text form must work too (that is what users read).
        text = _run([str(BIN / "ansible-doc"), fqcn], cwd=work, ANSIBLE_COLLECTIONS_PATH=str(installed)).stdout
        if doc.get("options"):
            assert "OPTIONS" in text, fqcn
        assert "RETURN VALUES" in text, fqcn


def test_ansible_doc_renders_every_role_spec(installed: Path, work: Path) -> None:
    coll = _coll(installed)
    roles = sorted(p.parent.parent.name for p in (coll / "roles").glob("*/meta/argument_specs.yml"))
    repo_roles = sorted(p.name for p in (ROOT / "roles").iterdir() if p.is_dir())
    assert roles == repo_roles, "every role needs meta/argument_specs.yml"
    assert roles, "the collection ships no roles"
    listed = _run(
        [str(BIN / "ansible-doc"), "-t", "role", "-l", "pii_guard.safeguards", "--json"],
        cwd=work,
        ANSIBLE_COLLECTIONS_PATH=str(installed),
    )
    assert sorted(json.loads(listed.stdout)) == [f"pii_guard.safeguards.{r}" for r in roles]
    for role in roles:
        fqcn = f"pii_guard.safeguards.{role}"
        docs = _doc(installed, work, "role", [fqcn])
        main = docs[fqcn]["entry_points"]["main"]
        assert main.get("short_description"), fqcn
        options = main.get("options") or {}
        assert options, f"{fqcn} main entry point documents no options"
        bad = [o for o in options if not o.startswith(role + "_")]
        assert bad == [], f"{fqcn}: options not prefixed with the role name: {bad}"
        assert all(o.get("description") for o in options.values()), f"{fqcn}: undocumented options"
        text = _run(
            [str(BIN / "ansible-doc"), "-t", "role", fqcn], cwd=work, ANSIBLE_COLLECTIONS_PATH=str(installed)
        ).stdout
        assert re.search(r"ENTRY POINT: \W*main\b", text), fqcn


def _filter_names(plugin: Path) -> list[str]:
    """Names a filter plugin file registers: the keys of the dict its filters() returns."""
    for node in ast.walk(ast.parse(plugin.read_text())):
        if isinstance(node, ast.FunctionDef) and node.name == "filters":
            ret = next(n for n in ast.walk(node) if isinstance(n, ast.Return))
            assert isinstance(ret.value, ast.Dict), f"{plugin.name}: filters() should return a dict literal"
            return [k.value for k in ret.value.keys if isinstance(k, ast.Constant)]
    return []


def test_ansible_doc_renders_every_filter(installed: Path, work: Path) -> None:
    """Every filter the plugins register has its plugins/filter/<name>.yml docs (3 ansible-doc calls)."""
    coll = _coll(installed)
    names = sorted(n for p in (coll / "plugins" / "filter").glob("*.py") for n in _filter_names(p))
    assert names, "the collection ships no filters"
    fqcns = [f"pii_guard.safeguards.{n}" for n in names]
    listed = _run(
        [str(BIN / "ansible-doc"), "-t", "filter", "-l", "pii_guard.safeguards", "--json"],
        cwd=work,
        ANSIBLE_COLLECTIONS_PATH=str(installed),
    )
    listing = json.loads(listed.stdout)
    assert sorted(listing) == fqcns
    assert [f for f, desc in listing.items() if desc == "UNDOCUMENTED"] == []
    docs = _doc(installed, work, "filter", fqcns)
    assert sorted(docs) == fqcns
    for fqcn, entry in docs.items():
        doc = entry["doc"]
        assert doc["short_description"] and doc["description"], fqcn
        assert "_input" in (doc.get("options") or {}), f"{fqcn} does not document its input"
        assert str(installed) in doc["filename"], f"{fqcn} resolved outside the installed copy: {doc['filename']}"
        assert entry["examples"] and fqcn in entry["examples"], f"{fqcn} has no EXAMPLES using it"
        assert (entry["return"] or {}).get("_value"), f"{fqcn} has no RETURN _value"
    text = _run([str(BIN / "ansible-doc"), "-t", "filter", *fqcns], cwd=work, ANSIBLE_COLLECTIONS_PATH=str(installed))
    assert text.stdout.count("RETURN VALUES") == len(fqcns), text.stdout[-3000:]


def test_playbooks_resolve_from_installed_copy(installed: Path, work: Path) -> None:
    """`ansible-playbook pii_guard.safeguards.<name> --syntax-check` uses the installed playbooks."""
    coll = _coll(installed)
    playbooks = sorted(p.stem for p in (coll / "playbooks").glob("*.yml"))
    assert "harden" in playbooks
    inv = ROOT / "inventories" / "example"
    for pb in playbooks:
        _run(
            [str(BIN / "ansible-playbook"), "-i", str(inv), f"pii_guard.safeguards.{pb}", "--syntax-check"],
            cwd=work,
            ANSIBLE_COLLECTIONS_PATH=str(installed),
        )


# --------------------------------------------------------------------------- example inventory


def _inventory_list(work: Path) -> dict:
    proc = _run([str(BIN / "ansible-inventory"), "-i", str(ROOT / "inventories" / "example"), "--list"], cwd=work)
    return json.loads(proc.stdout)


def test_example_inventory_graph(work: Path) -> None:
    inv = ROOT / "inventories" / "example"
    graph = _run([str(BIN / "ansible-inventory"), "-i", str(inv), "--graph"], cwd=work).stdout
    for group in ("linux", "windows", "system_room", "pii_data", "contractor_operated"):
        assert f"@{group}:" in graph, f"group {group} missing:\n{graph}"
    data = _inventory_list(work)
    hostvars = data["_meta"]["hostvars"]

    def members(group: str) -> set[str]:
        out = set(data.get(group, {}).get("hosts", []))
        for child in data.get(group, {}).get("children", []):
            out |= members(child)
        return out

    linux, windows = members("linux"), members("windows")
    assert linux and windows
    assert linux.isdisjoint(windows), "a host cannot be both linux and windows"
    # Every special group is drawn from the connectable hosts, and none is empty.
    for group in ("system_room", "pii_data", "contractor_operated"):
        assert members(group), group
        assert members(group) <= linux | windows, group
    for host in linux:
        assert hostvars[host]["ansible_connection"] == "ansible.builtin.ssh", host
        assert hostvars[host]["ansible_become"] is True, host
        assert hostvars[host]["ansible_user"] != "root", "never connect as root (root SSH login gets locked)"
    for host in windows:
        hv = hostvars[host]
        assert hv["ansible_connection"] == "ansible.builtin.winrm", host
        assert hv["ansible_winrm_transport"] in {"kerberos", "certificate"}, host
        assert hv["ansible_winrm_server_cert_validation"] == "validate", host
        if hv["ansible_winrm_transport"] == "certificate":
            assert hv["ansible_winrm_cert_pem"] and hv["ansible_winrm_cert_key_pem"], host


def _role_options() -> dict[str, dict]:
    out = {}
    for spec in (ROOT / "roles").glob("*/meta/argument_specs.yml"):
        role = spec.parent.parent.name
        data = yaml.safe_load(spec.read_text())
        opts: dict = {}
        for entry in (data.get("argument_specs") or {}).values():
            opts.update(entry.get("options") or {})
        out[role] = opts
    return out


_TYPES = {"str": str, "bool": bool, "int": int, "list": list, "dict": dict, "path": str, "float": (int, float)}


def _ack_register_errors(value: object) -> list[str]:
    return download_ack.register_errors(value, datetime.datetime.now(datetime.UTC).date())


# Registers a role reads as data, never through its argument specs (an argument spec check
# templates the values it checks, and a register's free text may hold "{{"): each is checked
# here with the validator the role itself uses.
DATA_REGISTERS = {"download_alert_acknowledgements": _ack_register_errors}


def test_example_inventory_sets_valid_vars_for_every_role(work: Path) -> None:
    """group_vars name only variables the roles declare, with the declared types and choices."""
    specs = _role_options()
    assert specs, "no roles with argument specs yet"
    hostvars = _inventory_list(work)["_meta"]["hostvars"]
    used: dict[str, set[str]] = {role: set() for role in specs}
    for host, hv in hostvars.items():
        for var, value in hv.items():
            role = next((r for r in specs if var.startswith(r + "_")), None)
            if role is None:
                continue
            if var in DATA_REGISTERS:
                assert var not in specs[role], f"{var} is read as data: it must not be an argument spec option"
                assert DATA_REGISTERS[var](value) == [], f"{host}: {var}: {DATA_REGISTERS[var](value)}"
                used[role].add(var)
                continue
            assert var in specs[role], f"{host}: {var} is not an option of role {role}"
            spec = specs[role][var]
            want = _TYPES.get(spec.get("type", "str"))
            if want is not None and not (spec.get("type") == "str" and isinstance(value, str)):
                assert isinstance(value, want), f"{host}: {var}={value!r} is not {spec.get('type')}"
            if "choices" in spec:
                assert value in spec["choices"], f"{host}: {var}={value!r} not in {spec['choices']}"
            used[role].add(var)
    unset = [role for role, vars_ in used.items() if not vars_]
    assert unset == [], f"the example inventory sets nothing for roles {unset}"


VALIDATE_PLAYBOOK = """---
- name: Check the example inventory with the roles' own argument specs and input validation
  hosts: all
  gather_facts: false
  vars:
    spec_root: "{{ coll_root }}/roles"
  tasks:
    # Each role's spec on the hosts the playbooks apply it to (download_alert: pii_data only,
    # system_room: system_room only), as harden.yml and audit.yml do.
    - name: Argument specs of every role
      ansible.builtin.validate_argument_spec:
        argument_spec: "{{ (lookup('ansible.builtin.file', spec_root ~ '/' ~ item ~ '/meta/argument_specs.yml')
                           | from_yaml).argument_specs.main.options }}"
      loop: "{{ ['usb_storage', 'admin_privileges', 'outsourcing']
                + (['download_alert'] if 'pii_data' in group_names else [])
                + (['system_room'] if 'system_room' in group_names else []) }}"
    - name: usb_storage validation
      ansible.builtin.include_role: {name: pii_guard.safeguards.usb_storage, tasks_from: validate}
    - name: admin_privileges validation
      ansible.builtin.include_role: {name: pii_guard.safeguards.admin_privileges, tasks_from: validate}
    - name: system_room validation
      ansible.builtin.include_role: {name: pii_guard.safeguards.system_room, tasks_from: validate}
      when: "'system_room' in group_names"
    - name: outsourcing validation
      ansible.builtin.include_role: {name: pii_guard.safeguards.outsourcing, tasks_from: validate}
    # download_alert's validate.yml also stats the watched paths on the host; only its
    # controller-side part applies to an inventory: the agent config built by its own filters.
    - name: download_alert data sets, channels and review date
      ansible.builtin.assert:
        that: errors | length == 0
        fail_msg: "{{ errors }}"
      vars:
        errors: >-
          {{ download_alert_datasets | pii_guard.safeguards.download_alert_config(
               download_alert_channels, download_alert_reviewed_on, download_alert_review_interval_days, {})
             | pii_guard.safeguards.download_alert_config_errors }}
      when: "'pii_data' in group_names"
"""


def test_example_inventory_passes_the_roles_validation(installed: Path, work: Path) -> None:
    """The roles' own input checks accept every host's variables (check mode, run locally:
    the validation is controller-side; the example hosts do not exist)."""
    pb = work / "validate_example.yml"
    pb.write_text(VALIDATE_PLAYBOOK)
    proc = subprocess.run(
        [
            str(BIN / "ansible-playbook"), "-i", str(ROOT / "inventories" / "example"), str(pb), "--check",
            "-e", "ansible_connection=local", "-e", f"ansible_python_interpreter={sys.executable}",
            "-e", f"coll_root={_coll(installed)}",
        ],
        cwd=work, env=_env(ANSIBLE_COLLECTIONS_PATH=str(installed)), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    recap = dict(re.findall(r"^(\S+)\s+:\s+ok=\d+\s+changed=\d+\s+unreachable=\d+\s+failed=(\d+)", proc.stdout, re.M))
    hosts = _inventory_list(work)["_meta"]["hostvars"]
    assert sorted(recap) == sorted(hosts) and set(recap.values()) == {"0"}


# --------------------------------------------------------------------------- execution environment


def test_ansible_builder_creates_a_valid_context(tarball: Path, installed: Path, work: Path) -> None:
    ee_dir = work / "ee"
    (ee_dir / "build").mkdir(parents=True)
    shutil.copy(ROOT / "execution-environment.yml", ee_dir)
    shutil.copy(tarball, ee_dir / "build")
    _run(
        [str(BIN / "ansible-builder"), "create", "-f", "execution-environment.yml", "-c", "context", "-v", "2"],
        cwd=ee_dir,
    )
    ctx = ee_dir / "context"
    containerfile = (ctx / "Containerfile").read_text()
    assert "FROM $EE_BASE_IMAGE AS base" in containerfile
    assert "COPY _build /build" in containerfile
    assert "ansible-galaxy collection install" in containerfile
    assert "ansible-core==2.19" in containerfile and "ansible-runner==" in containerfile
    # The galaxy stage installs the released tarball from the path the COPY puts it at.
    reqs = yaml.safe_load((ctx / "_build" / "requirements.yml").read_text())
    files = [c["name"] for c in reqs["collections"] if c.get("type") == "file"]
    assert files == [f"/build/collections/{TARBALL}"], "EE requirement does not match galaxy.yml's version"
    copied = ctx / "_build" / "collections" / TARBALL
    assert copied.read_bytes() == tarball.read_bytes()
    names = {c["name"] for c in reqs["collections"]}
    assert set(GALAXY["dependencies"]) <= names, "every collection dependency goes into the EE"
    pip = (ctx / "_build" / "requirements.txt").read_text()
    assert "pywinrm" in pip and "jmespath" in pip
    assert "krb5" in (ctx / "_build" / "bindep.txt").read_text()
    # What the builder stage runs: introspection of the installed collections picks up the
    # collection's own meta/execution-environment.yml requirements.
    proc = _run(
        [
            sys.executable,
            str(ctx / "_build" / "scripts" / "introspect.py"),
            "introspect",
            str(installed),
            "--user-pip",
            str(ctx / "_build" / "requirements.txt"),
        ],
        cwd=work,
    )
    intro = yaml.safe_load(proc.stdout)
    python = "\n".join(intro["python"])
    assert "pywinrm[kerberos,credssp]" in python and "# from collection pii_guard.safeguards" in python
    assert "molecule" not in python, "dev tool chain leaked into the EE requirements"
    assert any("krb5" in line for line in intro["system"])
