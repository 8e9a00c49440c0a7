"""plugin_utils/usb_register_file.py: the register file of playbooks/usb_devices.yml
(read, !unsafe rendering, input checks, lifecycle) without Ansible runs
(those are in tests/unit/playbooks/test_usb_devices.py)."""

from __future__ import annotations

import datetime
import os
import re

import pytest
import yaml

from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb.register import RegisterError
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import usb_register_file as regfile

TODAY = datetime.date(2026, 11, 28)
A = {"id": "46f4:0001", "serial": "AGENCY0001", "label": "PC-USB-0001", "owner": "tanaka", "issued_on": "2026-04-01"}
PAYLOADS = [
    "{{ lookup('pipe', 'id') }}",
    "{% if lookup('pipe', 'id') %}x{% endif %}",
    "{# x #}",
    'A"B',
    "A'B",
    "A\nB",
    "AGENCY0002\n",
]


def args(**kw):
    base = {"usb_action": "enrol", "usb_new_id": "0781:5581", "usb_new_serial": "NEW0002", "usb_label": "PC-USB-0002"}
    base.update(kw)
    return base


@pytest.mark.control("6-17.device_register")
def test_render_tags_every_string_unsafe_and_parses_back():
    entries = [dict(A, groups=["office", "hq"], expires_on=datetime.date(2027, 3, 31))]
    text = regfile.render(entries)
    data_lines = [
        ln for ln in text.splitlines() if not ln.startswith("#") and (": " in ln or ln.lstrip().startswith("- "))
    ]
    # Every value (scalars and list items) carries the tag, but the dates: YAML would read those
    # as dates through !unsafe too (ansible-core 2.19 re-resolves it), so they are plain quoted
    # strings (no '{', nothing to template). Keys stay plain.
    dates = [ln for ln in data_lines if re.search(r": '[0-9]{4}-[0-9]{2}-[0-9]{2}'$", ln)]
    assert len(dates) == 2 and all("!unsafe" not in ln for ln in dates), text
    assert all("!unsafe '" in ln for ln in data_lines if ln not in dates), text
    assert "usb_storage_devices:" in text and "!unsafe 'usb_storage_devices'" not in text
    back = regfile.parse(text, "f")
    assert back == [dict(A, groups=["office", "hq"], expires_on="2027-03-31")]


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.control("6-17.device_register")
def test_render_keeps_a_payload_literal(payload):
    # Even a string that escaped validation is a quoted !unsafe scalar, read back unchanged.
    text = regfile.render([dict(A, serial=payload)])
    assert regfile.parse(text, "f")[0]["serial"] == payload


@pytest.mark.parametrize(
    ("name", "action", "extra"),
    [
        ("usb_new_serial", "enrol", {}),
        ("usb_label", "enrol", {}),
        ("usb_owner", "enrol", {}),
        ("usb_old_serial", "replace", {}),
        ("usb_new_serial", "replace", {"usb_old_serial": "AGENCY0001"}),
        ("usb_label", "replace", {"usb_old_serial": "AGENCY0001"}),
        ("usb_serial", "revoke", {}),
        ("usb_reason", "revoke", {"usb_serial": "AGENCY0001"}),
    ],
)
@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.control("6-17.device_register")
def test_inputs_with_templates_quotes_or_newlines_are_refused(name, action, extra, payload):
    errors = regfile.check_inputs(args(usb_action=action, **dict(extra, **{name: payload})))
    assert any(e.startswith("%s %r is not accepted" % (name, payload)) for e in errors), errors


@pytest.mark.parametrize(
    ("given", "needle"),
    [
        ({"usb_label": None}, "usb_label is required to enrol"),
        ({"usb_new_serial": None}, "enrol needs usb_enrolment_host"),
        ({"usb_action": "replace"}, "usb_old_serial is required to replace"),
        ({"usb_action": "revoke"}, "usb_serial is required to revoke"),
        ({"usb_new_id": "46f4:0001\n"}, "usb_new_id '46f4:0001\\n' is not a VID:PID"),
        ({"usb_new_serial": 12}, "usb_new_serial 12 is not accepted"),
        ({"usb_groups": ["office\n"]}, "usb_groups entry 'office\\n'"),
        ({"usb_expires_on": "2027-02-30"}, "usb_expires_on '2027-02-30' is not a date"),
        ({"usb_kind": "floppy"}, "usb_kind 'floppy' is not one of"),
    ],
)
@pytest.mark.control("6-17.device_register")
def test_input_errors_name_the_variable(given, needle):
    assert any(needle in e for e in regfile.check_inputs(args(**given))), regfile.check_inputs(args(**given))


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.control("6-17.device_register")
def test_a_device_read_from_the_enrolment_host_is_validated_too(payload):
    # The serial comes from the stick itself: a crafted stick must not reach the file.
    devices = [{"id": "0781:5581", "serial": payload, "storage": True, "name": "x"}]
    device = regfile.pick_device(devices, [A], serial=None)
    with pytest.raises(RegisterError, match=r"usb_storage_devices\[1\].*serial"):
        regfile.update([A], args(usb_new_serial=None, usb_enrolment_host="h"), device, TODAY)


@pytest.mark.control("6-17.device_register")
def test_update_enrol_replace_revoke():
    new = regfile.update([A], args(usb_groups=["office"]), None, TODAY)
    assert new[1] == {
        "id": "0781:5581",
        "serial": "NEW0002",
        "kind": "storage",
        "label": "PC-USB-0002",
        "issued_on": "2026-11-28",
        "groups": ["office"],
        "state": "active",
    }
    rep = regfile.update([A], args(usb_action="replace", usb_old_serial="AGENCY0001"), None, TODAY)
    assert (rep[0]["state"], rep[0]["replaced_by"], rep[1]["replaces"], rep[1]["owner"]) == (
        "revoked",
        "PC-USB-0002",
        "PC-USB-0001",
        "tanaka",
    )
    rev = regfile.update([A], {"usb_action": "revoke", "usb_serial": "AGENCY0001"}, None, TODAY)
    assert (rev[0]["state"], rev[0]["revoked_reason"]) == ("revoked", "lost")


@pytest.mark.control("6-17.device_register")
def test_read_refuses_a_file_with_other_keys(tmp_path):
    f = tmp_path / "all.yml"
    f.write_text(yaml.safe_dump({"usb_storage_mode": "prohibit", "usb_storage_devices": [A], "ntp": "x"}))
    with pytest.raises(regfile.RegisterFileError, match=r"holds other keys \(ntp, usb_storage_mode\)"):
        regfile.read(str(f), first=False)


@pytest.mark.control("6-17.device_register")
def test_read_missing_file_only_when_first(tmp_path):
    f = tmp_path / "usb_device.yml"
    with pytest.raises(regfile.RegisterFileError, match=r"does not exist.*usb_register_first=true"):
        regfile.read(str(f), first=False)
    assert regfile.read(str(f), first=True) == ([], None)
    f.write_text("usb_storage_devices: []\n")
    with pytest.raises(regfile.RegisterFileError, match=r"usb_register_first=true but usb_register_file .* exists"):
        regfile.read(str(f), first=True)
    with pytest.raises(regfile.RegisterFileError, match=r"directory .* does not exist"):
        regfile.read(str(tmp_path / "nope" / "r.yml"), first=True)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("usb_storage_devices: {a: 1}\n", "must be a list"),
        ("- a\n", "must be a mapping"),
        ("usb_storage_devices: [\n", "is not valid YAML"),
        ("usb_storage_devices: !!python/object:os.system x\n", "is not valid YAML"),
    ],
)
@pytest.mark.control("6-17.device_register")
def test_read_refuses_other_shapes(tmp_path, text, needle):
    f = tmp_path / "r.yml"
    f.write_text(text)
    with pytest.raises(regfile.RegisterFileError, match=needle):
        regfile.read(str(f), first=False)


@pytest.mark.control("6-17.device_register")
def test_write_keeps_a_backup_ansible_skips(tmp_path):
    f = tmp_path / "usb_devices.yml"
    f.write_text("usb_storage_devices: []\n")
    os.chmod(f, 0o640)
    backup = regfile.write(str(f), regfile.render([A]), stamp="20261128T000000")
    assert backup == str(f) + ".20261128T000000~"
    assert open(backup).read() == "usb_storage_devices: []\n"
    assert regfile.parse(f.read_text(), "f") == [A]
    assert os.stat(f).st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["usb_devices.yml", "usb_devices.yml.20261128T000000~"]


@pytest.mark.parametrize("serial", ["0012", "12345", "no", "on", "1e3", "0o17", "0x1F", "2026-01-01", "~", "null", "="])
@pytest.mark.control("6-17.device_register")
def test_ansible_reads_a_typed_lookalike_back_as_the_same_string(serial, tmp_path):
    # Ansible loads group_vars as templates; ansible-core 2.19 resolved `!unsafe '0012'` as the
    # int 10 and `!unsafe 'no'` as False: a register the playbook wrote was refused by the role
    # (serial must be a string) or, coerced back, named another device. Oracle: Ansible's own
    # group_vars loading (host_group_vars: trusted_as_template) and templating.
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar

    f = tmp_path / "usb_devices.yml"
    f.write_text(regfile.render([dict(A, serial=serial, label=serial, owner=serial)]))
    data = DataLoader().load_from_file(str(f), cache="none", unsafe=True, trusted_as_template=True)
    (entry,) = Templar(loader=DataLoader(), variables=data).template(data)["usb_storage_devices"]
    assert (entry["serial"], entry["label"], entry["owner"]) == (serial, serial, serial)
    assert all(isinstance(entry[k], str) for k in ("serial", "label", "owner"))
