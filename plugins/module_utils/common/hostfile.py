# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way the collection's modules read and write files on a managed host.

- ``read_text``: a file's text, ``None`` when it is missing or unreadable.
- ``atomic_write``: temp file in the target's directory, fsync, mode and owner, validation
  (a command such as ``visudo -cf %s`` or a Python callable) before an atomic rename.
- ``Changes``: a group of writes, removals and moves; each touched file is copied once into one
  backup directory (under ``BACKUP_ROOT``) and the whole group is rolled back when a later step
  fails. In check mode it writes nothing at all; the module decides what to report.

Pure Python (no Ansible imports): it runs inside modules on the managed host and in unit tests.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import datetime
import os
import shlex
import shutil
import subprocess
import tempfile

# The one backup directory of the collection; each module keeps its copies in a sub-directory.
BACKUP_ROOT = "/var/backups/pii_guard"
# A leading dot and a suffix: sudo's includedir skips names with a dot, augenrules reads only
# *.rules, usbguard's RuleFolder only *.conf, so a half-written temp file is never loaded.
TMP_PREFIX = ".pii_guard."
TMP_SUFFIX = ".tmp"


class HostFileError(Exception):
    """A write that was refused (validation) or a rollback that could not restore everything."""


def backup_dir(area: str) -> str:
    """The backup directory of one module or area, e.g. /var/backups/pii_guard/usbguard."""
    return os.path.join(BACKUP_ROOT, area)


def read_text(path: str, errors: str = "replace") -> str | None:
    """A file's text (UTF-8), or None when it is missing or cannot be read.

    ``errors`` is the decoding policy: "replace" (default) for files only compared or parsed,
    "strict" where a foreign byte must not be rewritten as U+FFFD (UnicodeDecodeError then).
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except (IOError, OSError):
        return None
    return data.decode("utf-8", errors)


def _run(args: list[str]) -> tuple[int, str, str]:
    """Run a validation command without Ansible (the module passes its own run_command)."""
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def validate_file(tmp: str, path: str, validate, run_command=None) -> None:
    """Validate the temp file ``tmp`` that will become ``path``; raise when it is refused.

    ``validate`` is a callable taking the temp path (it raises its own error), or a command as
    a list or a string; ``%s`` stands for the temp path, else the path is appended.
    """
    if callable(validate):
        validate(tmp)
        return
    cmd = shlex.split(validate) if isinstance(validate, str) else list(validate)
    if any("%s" in a for a in cmd):
        cmd = [a.replace("%s", tmp) for a in cmd]
    else:
        cmd.append(tmp)
    rc, out, err = (run_command or _run)(cmd)
    if rc != 0:
        raise HostFileError("%s rejected the new %s: %s" % (cmd[0], path, (err or out).strip()))


def _fsync_dir(directory: str) -> None:
    """Make a rename durable; some filesystems cannot open a directory, which is harmless."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _owner_and_mode(path: str, mode: int | None) -> tuple[int, int | None, int | None]:
    """The mode to give (the existing file's when None, else 0600) and the owner to keep."""
    try:
        st = os.stat(path)
    except OSError:
        return (0o600 if mode is None else mode), None, None
    return (st.st_mode & 0o7777 if mode is None else mode), st.st_uid, st.st_gid


def atomic_write(path, data, mode=None, validate=None, run_command=None, dir_mode=0o755, before_rename=None) -> None:
    """Replace ``path`` with ``data`` (str or bytes) so that readers see the old or the new file.

    The temp file lies in the target's directory (same filesystem: the rename is atomic), is
    fsynced, gets ``mode`` (None keeps the existing file's mode) and the existing file's owner,
    and is validated before the rename; ``before_rename()`` then runs (the group's backup). On
    any error the target is untouched and the temp file is gone. A missing directory is created
    with ``dir_mode``.
    """
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=dir_mode, exist_ok=True)
    mode, uid, gid = _owner_and_mode(path, mode)
    blob = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=TMP_SUFFIX, dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        if uid is not None and (uid, gid) != (os.getuid(), os.getgid()):
            os.chown(tmp, uid, gid)
        if validate is not None:
            validate_file(tmp, path, validate, run_command)
        if before_rename is not None:
            before_rename()
        os.rename(tmp, path)
        _fsync_dir(directory)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def stamp() -> str:
    """UTC time stamp of one group of changes, the suffix of its backup copies."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


class _Original:
    """A file as it was before the group first touched it (None content: it did not exist)."""

    def __init__(self, path: str):
        self.path = path
        self.content = None
        self.mode = self.uid = self.gid = None
        if os.path.lexists(path):
            st = os.stat(path)
            with open(path, "rb") as fh:
                self.content = fh.read()
            self.mode, self.uid, self.gid = st.st_mode & 0o7777, st.st_uid, st.st_gid

    def restore(self) -> None:
        if self.content is None:
            if os.path.lexists(self.path):
                os.unlink(self.path)
            return
        atomic_write(self.path, self.content, self.mode)
        st = os.stat(self.path)
        if (st.st_uid, st.st_gid) != (self.uid, self.gid):
            os.chown(self.path, self.uid, self.gid)


class Changes:
    """A group of host-file changes with one backup per file and rollback as a whole.

    Use it as a context manager (an exception inside rolls the group back and propagates) or
    call ``rollback()`` when a later step (``visudo -c``, ``sshd -t``) refuses the result.
    In check mode every method returns False and touches nothing.
    """

    def __init__(self, backup_dir: str, check_mode: bool = False, run_command=None, when: str | None = None):
        self.backup_dir = backup_dir
        self.check_mode = check_mode
        self.run_command = run_command
        self.stamp = when or stamp()
        self.backups = []  # backup copies written by this group, in order
        self._originals = []  # _Original of every path touched, in order

    def __enter__(self) -> Changes:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            self.rollback()
        return False

    def _touch(self, path: str) -> None:
        """Remember the file and copy it to the backup directory, once per group."""
        if any(o.path == path for o in self._originals):
            return
        original = _Original(path)
        self._originals.append(original)
        if original.content is not None:
            self.backups.append(self._backup(path))

    def _backup(self, path: str) -> str:
        """Copy to <backup_dir>/<path without its leading />.<stamp>, private (0700/0600)."""
        dest = os.path.join(self.backup_dir, os.path.abspath(path).lstrip("/") + "." + self.stamp)
        os.makedirs(os.path.dirname(dest), mode=0o700, exist_ok=True)
        shutil.copyfile(path, dest)
        os.chmod(dest, 0o600)
        return dest

    def write(self, path: str, data, mode: int | None = None, validate=None, dir_mode: int = 0o755) -> bool:
        """Validate, back up, then atomically replace ``path`` (see atomic_write)."""
        if self.check_mode:
            return False
        # The backup is taken after validation: a refused file leaves no backup and no trace.
        atomic_write(path, data, mode, validate, self.run_command, dir_mode, before_rename=lambda: self._touch(path))
        return True

    def remove(self, path: str) -> bool:
        """Back up and remove ``path``; False when it does not exist."""
        if self.check_mode or not os.path.lexists(path):
            return False
        self._touch(path)
        os.unlink(path)
        return True

    def move(self, path: str, dest: str, dir_mode: int = 0o700) -> bool:
        """Back up ``path`` and move it to ``dest`` (a quarantine); rollback moves it back."""
        if self.check_mode or not os.path.lexists(path):
            return False
        self._touch(path)
        self._touch(dest)
        os.makedirs(os.path.dirname(dest), mode=dir_mode, exist_ok=True)
        shutil.move(path, dest)
        return True

    def rollback(self) -> list[str]:
        """Restore every touched file as it was, newest change first; return what failed.

        Best effort: one file that cannot be restored does not stop the others.
        """
        errors = []
        for original in reversed(self._originals):
            try:
                original.restore()
            except (IOError, OSError) as e:
                errors.append("%s: %s" % (original.path, e))
        self._originals = []
        return errors
