"""The download-alert parser on real auditd records captured in the lab VMs.

tests/fixtures/auditd/debian<R>-auditd<version>-{enriched,raw}.log are audit.log lines as
auditd wrote them (tests/lab/capture_audit.py): the operator `labop` (auid 1000, a login user)
read three files with `cat` (one of them twice), a directory of five files with `tar`, tried
a missing file and read an unwatched file. The .json next to them records the inodes of
every file read, taken with stat(1) in the VM. The parser must find exactly those files,
once each, for that auid, with the user name in ENRICHED records and none in RAW ones.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(ROOT / ".cache" / "collections"))

from ansible_collections.pii_guard.safeguards.plugins.module_utils.download import window as dw  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "auditd"
METAS = sorted(FIXTURES.glob("debian*-auditd*.json"))
CASES = [(m, fmt) for m in METAS for fmt in ("ENRICHED", "RAW")]


def load(meta_path: Path, fmt: str) -> tuple[dict, dict, bytes]:
    meta = json.loads(meta_path.read_text())
    info = meta["formats"][fmt]
    return meta, info, (FIXTURES / info["file"]).read_bytes()


def expected_inodes(meta: dict, info: dict) -> set[int]:
    return {info["inodes"][f] for f in meta["files_read"]}


def events_whole(data: bytes, key: str) -> list:
    p = dw.AuditParser([key])
    return p.feed_chunk(data) + p.flush()


def events_by_line(data: bytes, key: str) -> list:
    p = dw.AuditParser([key])
    out = []
    for line in data.splitlines(keepends=True):
        out.extend(p.feed(line))
    return out + p.flush()


@pytest.mark.parametrize(("release", "major"), [("12", "3"), ("13", "4")])
def test_fixtures_exist_for_each_lab_release(release: str, major: str) -> None:
    # Debian 12 ships auditd 3.0.9, Debian 13 auditd 4.0.2: both record formats, really captured.
    assert any(m.name.startswith(f"debian{release}-auditd{major}.") for m in METAS), [m.name for m in METAS]


@pytest.mark.parametrize(("meta_path", "fmt"), CASES, ids=[f"{m.stem}-{f}" for m, f in CASES])
@pytest.mark.parametrize("feed", [events_whole, events_by_line], ids=["chunk", "lines"])
def test_real_records_give_each_file_read_once(meta_path: Path, fmt: str, feed) -> None:
    meta, info, data = load(meta_path, fmt)
    # The capture is what it says: this format, this key, records of the directory open too.
    sep = b"\x1d" in data
    assert sep is (fmt == "ENRICHED")
    assert data.count(b'key="%s"' % meta["key"].encode()) >= len(expected_inodes(meta, info)) + 1
    events = feed(data, meta["key"])
    inodes = [int(e[4].split(":")[-1]) for e in events]
    want = expected_inodes(meta, info)
    # every file read is found; the second read of the same file, the directory and the
    # failed open add nothing that is not one of those files
    assert set(inodes) == want
    assert info["inodes"][meta["tar_dir"]] not in inodes
    assert {e[0] for e in events} == {meta["key"]}
    assert {e[1] for e in events} == {meta["auid"]}
    assert {e[2] for e in events} == ({meta["user"]} if fmt == "ENRICHED" else {None})
    assert len({e[4].rsplit(":", 1)[0] for e in events}) == 1  # one device for the one file system
    assert all(e[3] > 1.7e9 for e in events)  # real epoch times


@pytest.mark.parametrize(("meta_path", "fmt"), CASES, ids=[f"{m.stem}-{f}" for m, f in CASES])
def test_real_records_below_min_auid_or_other_keys_are_ignored(meta_path: Path, fmt: str) -> None:
    meta, _info, data = load(meta_path, fmt)
    assert dw.AuditParser([meta["key"]], min_auid=meta["auid"] + 1).feed_chunk(data) == []
    assert dw.AuditParser(["pii_dl_other"]).feed_chunk(data) == []
