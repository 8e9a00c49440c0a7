"""download_alert_info reads what lets a read of a watched file escape the audit rules (clause 6-5):
how this kernel answers io_uring (the switch files as the kernel shows them, and, where there is no
switch, the kernel's own answer to io_uring_setup), and hard links to watched files elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.pii_guard.safeguards.plugins.module_utils.download import download_alert_info as M

HELPER = Path(__file__).resolve().parents[4] / "tests" / "vm" / "uring_open.py"


@pytest.mark.control("6-5.audit_rules_loaded")
def test_state_of_this_kernel_matches_what_a_real_io_uring_open_does(tmp_path):
    """The oracle is the kernel: an unprivileged-looking process opens a file through io_uring
    (tests/vm/uring_open.py); it succeeds exactly when the state says io_uring is open."""
    state = M.io_uring_state()
    target = tmp_path / "f"
    target.write_text("x\n")
    out = subprocess.run([sys.executable, str(HELPER), str(target)], capture_output=True, text=True)
    opened = out.returncode == 0 and out.stdout.strip() == "1"
    if not opened:
        assert "Operation not permitted" in out.stderr or "Function not implemented" in out.stderr, out
    if state["disabled"] == 0:
        assert opened and state["present"]
    elif state["disabled"] is None:
        assert opened == state["present"]
    if os.geteuid() != 0 and state["disabled"] == 2:
        assert not opened


def test_switch_files_are_read_as_the_kernel_writes_them(tmp_path):
    sysctl, group = tmp_path / "io_uring_disabled", tmp_path / "io_uring_group"
    sysctl.write_text("1\n")
    group.write_text("-1\n")
    assert M.io_uring_state(str(sysctl), str(group)) == {"disabled": 1, "group": -1, "present": True}
    group.write_text("1234\n")
    assert M.io_uring_state(str(sysctl), str(group))["group"] == 1234
    # no switch (Linux < 6.6): whether io_uring is there is asked of the kernel itself
    state = M.io_uring_state(str(tmp_path / "absent"), str(tmp_path / "absent-too"))
    assert state["disabled"] is None and state["group"] is None
    assert state["present"] is M._io_uring_present()
    sysctl.write_text("garbage")
    assert M.io_uring_state(str(sysctl), str(group))["disabled"] is None


@pytest.mark.control("6-5.audit_rules_loaded")
def test_hard_links_outside_the_watched_paths_are_found_and_inside_ones_are_not(tmp_path):
    """Real files and links; the file system's own link count is the oracle of how many names a
    file has (the VM test shows a read through such a name is not recorded)."""
    data, sub, elsewhere = tmp_path / "pii", tmp_path / "pii" / "sub", tmp_path / "home"
    for d in (data, sub, elsewhere):
        d.mkdir()
    for n in ("a", "b", "c", "d"):
        (data / ("%s.csv" % n)).write_text(n)
    (sub / "e.csv").write_text("e")
    os.link(data / "a.csv", elsewhere / "stash.csv")  # a name outside: reads through it escape
    os.link(data / "b.csv", data / "b-copy.csv")  # both names watched
    os.link(sub / "e.csv", data / "e-too.csv")  # both watched, found from two overlapping paths
    os.symlink(data / "c.csv", elsewhere / "c-link.csv")  # not a name of the file
    os.link(data / "d.csv", elsewhere / "d1.csv")
    os.link(data / "d.csv", data / "d-inside.csv")  # one name outside out of three
    got = M.outside_links([str(data), str(sub)])
    assert got == {"count": 2, "files": [str(data / "a.csv"), str(data / "d-inside.csv")]}
    assert os.stat(data / "a.csv").st_nlink == 2 and os.stat(data / "d.csv").st_nlink == 3
    os.unlink(elsewhere / "stash.csv")
    os.unlink(elsewhere / "d1.csv")
    assert M.outside_links([str(data), str(sub)]) == {"count": 0, "files": []}
    # many: counted in full, named up to the limit
    for i in range(25):
        (data / ("m%02d" % i)).write_text("m")
        os.link(data / ("m%02d" % i), elsewhere / ("m%02d" % i))
    many = M.outside_links([str(data)])
    assert many["count"] == 25 and len(many["files"]) == M.OUTSIDE_LINKS_SHOWN
    assert M.outside_links([str(tmp_path / "absent")]) == {"count": 0, "files": []}
