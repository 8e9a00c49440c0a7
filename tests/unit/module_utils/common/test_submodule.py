"""SubModule: a module's run(module) inside another module, validated as AnsibleModule validates,
always in check mode, its exit and failure handed back to the caller (never the process's exit)."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common.submodule import (
    SubModule,
    SubModuleExit,
    run_sub,
)

SPEC = dict(
    mode=dict(type="str", required=True, choices=["a", "b"]),
    count=dict(type="int", default=3),
    flag=dict(type="bool", default=False),
    names=dict(type="list", elements="str", default=[]),
    where=dict(type="path", default="~/x"),
    items=dict(type="list", elements="dict", default=[], options=dict(user=dict(type="str", required=True))),
)


class Parent:
    """The parent module: not in check mode, with diff; it must never exit or fail itself."""

    check_mode = False
    _diff = True
    tmpdir = "/parent/tmp"

    def __init__(self, bins=None, commands=None):
        self.no_log_values = set()
        self.warnings = []
        self.bins = bins or {}
        self.commands = commands or {}
        self.ran = []

    def warn(self, warning):
        self.warnings.append(warning)

    def get_bin_path(self, arg, required=False, opt_dirs=None):
        assert not required, "the parent must never be asked to fail"
        return self.bins.get(arg)

    def run_command(self, args, **kwargs):
        assert kwargs.get("handle_exceptions") is False, "the parent must never fail_json for a sub-run"
        self.ran.append(args)
        result = self.commands[args[0]]
        if isinstance(result, Exception):
            raise result
        return result

    def add_path_info(self, kwargs):
        return kwargs

    def exit_json(self, **kwargs):
        raise AssertionError("the parent exited")

    fail_json = exit_json


def result_of(params, run, parent=None):
    return run_sub(parent or Parent(), "ns.coll.demo", SPEC, run, params)


def params_of(module):
    module.exit_json(params=module.params)


def ansible_module_failure(params, capsys) -> dict:
    """What AnsibleModule itself fails with for the same spec and params."""
    with patch_module_args(dict(params, _ansible_module_name="ns.coll.demo")), pytest.raises(SystemExit):
        AnsibleModule(argument_spec=SPEC)
    out = json.loads(capsys.readouterr().out)
    return {"failed": out["failed"], "msg": out["msg"]}


def test_defaults_and_type_coercion_as_ansible_module_applies_them(monkeypatch):
    monkeypatch.setenv("HOME", "/home/auditor")
    res = result_of({"mode": "a", "count": "7", "flag": "yes", "names": "x,y", "items": [{"user": 5}]}, params_of)
    assert res == {
        "params": {
            "mode": "a",
            "count": 7,
            "flag": True,
            "names": ["x", "y"],
            "where": "/home/auditor/x",
            "items": [{"user": "5"}],
        }
    }


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"mode": "c"},
        {"mode": "a", "count": "many"},
        {"mode": "a", "bogus": 1},
        {"mode": "a", "items": [{}]},
    ],
    ids=["missing", "choice", "type", "unsupported", "suboption"],
)
def test_validation_errors_are_the_runs_failure_with_ansible_modules_text(params, capsys):
    ran = []
    res = result_of(params, ran.append)
    assert ran == [], "run() must not be called with invalid params"
    assert res == ansible_module_failure(params, capsys)


def test_exit_and_fail_hand_the_result_back():
    assert result_of({"mode": "a"}, lambda m: m.exit_json(changed=True, findings=[1])) == {
        "changed": True,
        "findings": [1],
    }
    res = result_of({"mode": "a"}, lambda m: m.fail_json(msg="refused", problems=["p"]))
    assert res == {"failed": True, "msg": "refused", "problems": ["p"]}


def test_exit_is_not_swallowed_by_the_runs_own_except_exception():
    def run(module):
        try:
            module.exit_json(changed=False, step="first")
        except Exception:  # a rollback handler, as the modules have
            module.exit_json(changed=False, step="handler")

    assert result_of({"mode": "a"}, run) == {"changed": False, "step": "first"}


def test_check_mode_is_forced_and_diff_off_whatever_the_parent_says():
    parent = Parent()
    module = SubModule(parent, "ns.coll.demo", SPEC, {"mode": "a"})
    assert parent.check_mode is False and parent._diff is True
    assert module.check_mode is True and module._diff is False
    with pytest.raises(AttributeError):
        module.check_mode = False


def test_a_required_executable_missing_is_the_runs_failure_not_the_parents():
    res = result_of({"mode": "a"}, lambda m: m.exit_json(path=m.get_bin_path("visudo", required=True)))
    assert res["failed"] is True and res["msg"].startswith('Failed to find required executable "visudo" in paths')
    found = Parent(bins={"visudo": "/usr/sbin/visudo"})
    assert result_of({"mode": "a"}, lambda m: m.exit_json(path=m.get_bin_path("visudo", required=True)), found) == {
        "path": "/usr/sbin/visudo"
    }


def test_commands_go_through_the_parent_and_their_failures_stay_in_the_run():
    parent = Parent(commands={"ok": (0, "out", ""), "bad": (2, "", "denied\n"), "gone": OSError(2, "No such file")})
    assert result_of({"mode": "a"}, lambda m: m.exit_json(r=m.run_command(["ok", "-l"])), parent) == {
        "r": [0, "out", ""]
    }
    res = result_of({"mode": "a"}, lambda m: m.run_command(["bad"], check_rc=True), parent)
    assert res == {"failed": True, "msg": "denied", "cmd": ["bad"], "rc": 2, "stdout": "", "stderr": "denied\n"}
    res = result_of({"mode": "a"}, lambda m: m.run_command(["gone"]), parent)
    assert res["failed"] and res["rc"] == 257 and res["msg"] == "Error executing command."
    assert "No such file" in res["exception"]
    assert parent.ran == [["ok", "-l"], ["bad"], ["gone"]]


def test_an_unexpected_exception_is_the_runs_failure():
    res = result_of({"mode": "a"}, lambda m: {}["missing"])
    assert res["failed"] is True and res["msg"] == "ns.coll.demo: KeyError: 'missing'"
    assert "Traceback" in res["exception"]
    assert result_of({"mode": "a"}, lambda m: None)["msg"] == "ns.coll.demo ended without exit_json or fail_json"


def test_warnings_are_in_the_runs_result_and_the_parents_prefixed():
    parent = Parent()

    def run(module):
        module.warn("model-wide entry")
        module.exit_json(changed=False)

    assert result_of({"mode": "a"}, run, parent) == {"changed": False, "warnings": ["model-wide entry"]}
    assert parent.warnings == ["ns.coll.demo: model-wide entry"]
    assert SubModule(parent, "ns.coll.demo", SPEC, {"mode": "a"}).tmpdir == "/parent/tmp"


def test_no_log_values_are_masked_in_the_result_and_told_to_the_parent():
    spec = dict(token=dict(type="str", no_log=True, required=True))
    parent = Parent()
    res = run_sub(parent, "demo", spec, lambda m: m.exit_json(changed=True, echoed="key=s3cr3t"), {"token": "s3cr3t"})
    assert res == {"changed": True, "echoed": "key=********"}
    assert "s3cr3t" in parent.no_log_values


def test_params_are_not_shared_with_the_caller_or_the_spec():
    given = {"mode": "a", "names": ["x"]}

    def run(module):
        module.params["names"].append("y")
        module.params["items"].append({"user": "z"})
        module.exit_json()

    result_of(given, run)
    assert given == {"mode": "a", "names": ["x"]} and SPEC["items"]["default"] == []
    with pytest.raises(SubModuleExit):
        SubModule(Parent(), "demo", SPEC, {"mode": "a"}).exit_json()
