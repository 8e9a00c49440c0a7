# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run another module's ``run(module)`` inside this module's process, read-only.

``SubModule`` stands in for the AnsibleModule a module's ``run(module)`` expects: its params are
validated as AnsibleModule validates them (ArgumentSpecValidator: defaults, type coercion, the
same error text), it is always in check mode (whatever the parent says) and never diffs, and
its ``exit_json``/``fail_json`` raise ``SubModuleExit`` carrying the result instead of ending
the process, so the caller goes on with the next run. Commands and executables go through
the parent module, but a failure (``required=True``, ``check_rc=True``, a command that cannot
start) becomes this sub-run's failure, never the parent's exit.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import traceback

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError


class SubModuleExit(BaseException):
    """The end of a sub-run; ``result`` is what exit_json or fail_json was given.

    A BaseException like the SystemExit it replaces, so a sub-module's ``except Exception``
    (a rollback, say) never swallows its own exit."""

    def __init__(self, result):
        super(SubModuleExit, self).__init__(result.get("msg", ""))
        self.result = result


class SubModule:
    """The AnsibleModule surface the collection's host modules use, for one read-only sub-run."""

    def __init__(self, parent, name, argument_spec, params):
        self._parent = parent
        self._name = name
        self._diff = False
        self.warnings = []
        validated = ArgumentSpecValidator(copy.deepcopy(argument_spec)).validate(copy.deepcopy(params or {}))
        self.params = validated.validated_parameters
        self.no_log_values = set(validated._no_log_values)
        parent.no_log_values.update(self.no_log_values)  # the combined result is masked as well
        for w in getattr(validated, "_warnings", []):
            self.warn("Both option {option} and its alias {alias} are set.".format(**w))
        if validated.errors.errors:
            msg = validated.errors.msg
            if isinstance(validated.errors[0], UnsupportedError):
                msg = "Unsupported parameters for (%s) module: %s" % (name, msg)
            self.fail_json(msg=msg)

    @property
    def check_mode(self):
        """Always True: a sub-run only reads, whatever mode the parent runs in."""
        return True

    @property
    def tmpdir(self):
        return self._parent.tmpdir

    def warn(self, warning):
        self.warnings.append(warning)
        self._parent.warn("%s: %s" % (self._name, warning))

    def get_bin_path(self, arg, required=False, opt_dirs=None):
        path = self._parent.get_bin_path(arg, required=False, opt_dirs=opt_dirs)
        if path is None and required:  # AnsibleModule's message (its paths also list opt_dirs and the sbin dirs)
            paths = os.environ.get("PATH", "")
            self.fail_json(msg='Failed to find required executable "%s" in paths: %s' % (arg, paths))
        return path

    def run_command(self, args, check_rc=False, **kwargs):
        kwargs["handle_exceptions"] = False
        try:
            rc, out, err = self._parent.run_command(args, **kwargs)
        except (IOError, OSError) as e:  # AnsibleModule's result for a command that cannot start
            self.fail_json(rc=257, stdout="", stderr="", msg="Error executing command.", cmd=args, exception=e)
        if rc != 0 and check_rc:
            self.fail_json(cmd=args, rc=rc, stdout=out, stderr=err, msg=err.rstrip())
        return rc, out, err

    def exit_json(self, **kwargs):
        raise SubModuleExit(self._result(kwargs))

    def fail_json(self, msg, **kwargs):
        if isinstance(kwargs.get("exception"), BaseException):
            e = kwargs["exception"]
            kwargs["exception"] = "".join(traceback.format_exception(type(e), e, e.__traceback__))
        kwargs.update(failed=True, msg=str(msg))
        raise SubModuleExit(self._result(kwargs))

    def _result(self, kwargs):
        """What AnsibleModule would return: path info, warnings, no_log values masked."""
        self._parent.add_path_info(kwargs)
        if self.warnings:
            kwargs["warnings"] = list(self.warnings)
        preserved = dict((k, v) for k, v in kwargs.items() if v is None or isinstance(v, bool))
        kwargs = remove_values(kwargs, self.no_log_values)
        kwargs.update(preserved)
        return kwargs


def run_sub(parent, name, argument_spec, run, params):
    """One sub-run's result: what run(module) gave exit_json, or failed/msg and fail_json's keys.

    Nothing a sub-run does ends the parent: an unexpected exception is that run's failure."""
    try:
        run(SubModule(parent, name, argument_spec, params))
    except SubModuleExit as e:
        return e.result
    except Exception as e:  # a bug in one run must not take the other runs down
        return {"failed": True, "msg": "%s: %s: %s" % (name, type(e).__name__, e), "exception": traceback.format_exc()}
    return {"failed": True, "msg": "%s ended without exit_json or fail_json" % name}
