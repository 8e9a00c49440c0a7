"""Register validation for clause 6-17 (usb_register.validate_register and the lifecycle)."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb.register import (
    RegisterError,
    enrol,
    replace,
    revoke,
    validate_register,
)

TODAY = datetime.date(2026, 11, 28)


def entry(**kw):
    base = {"id": "46f4:0001", "serial": "AGENCY0001", "label": "PC-USB-0001", "issued_on": "2026-04-01"}
    base.update(kw)
    return base


@pytest.mark.control("6-17.device_register")
def test_active_inactive_split_and_normalisation():
    res = validate_register(
        [
            entry(id="46F4:0001", issued_on=datetime.date(2026, 4, 1), expires_on="2026-11-28"),
            entry(serial="B", label="L2", state="revoked"),
            entry(serial="C", label="L3", expires_on="2026-11-27"),
        ],
        TODAY,
    )
    assert [e["label"] for e in res.active] == ["PC-USB-0001"]
    assert res.active[0]["id"] == "46f4:0001"  # lower-cased, as usbguard prints it
    assert res.active[0]["expires_on"] == datetime.date(2026, 11, 28)  # expiring today is still valid
    assert [(e["label"], e["reason"]) for e in res.inactive] == [("L2", "revoked"), ("L3", "expired")]
    assert res.warnings == []


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        (entry(id="46f4:001"), "id '46f4:001'"),
        (entry(id="zzzz:0001"), "id 'zzzz:0001'"),
        (entry(expires_on="2026-03-31"), "expires_on 2026-03-31 is before issued_on 2026-04-01"),
        (entry(state="lost"), "state 'lost'"),
        (entry(issued_on="01/04/2026"), "issued_on '01/04/2026' is not a date"),
        (entry(hash="short"), "hash 'short'"),
        (entry(expire_on="2027-01-01"), "unknown key(s) 'expire_on'"),
        (entry(kind="floppy"), "kind 'floppy'"),
        (entry(groups="office"), "groups 'office'"),
        (entry(label=""), "label is missing"),
        (entry(serial=" X "), "serial ' X '"),
    ],
)
@pytest.mark.control("6-17.device_register")
def test_bad_entries_are_refused_naming_entry_and_value(bad, needle):
    with pytest.raises(RegisterError) as exc:
        validate_register([entry(serial="OK", label="OK"), bad], TODAY)
    msg = str(exc.value)
    assert msg.startswith("usb_storage_devices[1]")
    assert needle in msg


@pytest.mark.control("6-17.device_register")
def test_duplicate_serial_refused_in_any_state():
    with pytest.raises(
        RegisterError, match=r"usb_storage_devices\[1\].*already registered as usb_storage_devices\[0\]"
    ):
        validate_register([entry(state="revoked"), entry(label="other")], TODAY)


@pytest.mark.control("6-17.device_register")
def test_duplicate_label_refused():
    with pytest.raises(RegisterError, match="label 'PC-USB-0001' is already used"):
        validate_register([entry(), entry(serial="X2")], TODAY)


@pytest.mark.control("6-17.device_register")
def test_missing_serial_refused_unless_model_wide_opt_in():
    e = entry()
    del e["serial"]
    with pytest.raises(RegisterError, match=r"usb_storage_devices\[0\] \(label 'PC-USB-0001'\): serial is missing"):
        validate_register([e], TODAY)
    res = validate_register([e], TODAY, allow_model_wide=True)
    assert len(res.active) == 1
    assert "model-wide" in res.warnings[0]


@pytest.mark.control("6-17.device_register")
def test_hash_alone_identifies_a_device():
    e = entry(hash="A" * 43 + "=")
    del e["serial"]
    res = validate_register([e], TODAY)
    assert res.active[0]["hash"] == "A" * 43 + "="
    assert res.warnings == []


@pytest.mark.control("6-17.device_register")
def test_not_a_list():
    with pytest.raises(RegisterError, match="must be a list"):
        validate_register({"id": "x"}, TODAY)


@pytest.mark.control("6-17.device_register")
def test_enrol_replace_revoke_lifecycle():
    reg = enrol([], entry(owner="tanaka", groups=["office"]), TODAY)
    reg = replace(reg, "AGENCY0001", {"id": "46f4:0001", "serial": "AGENCY0002", "label": "PC-USB-0002"}, TODAY)
    res = validate_register(reg, TODAY)
    assert [(e["serial"], e["owner"], e["groups"]) for e in res.active] == [("AGENCY0002", "tanaka", ["office"])]
    assert res.active[0]["replaces"] == "PC-USB-0001"
    old = res.inactive[0]
    assert (old["serial"], old["reason"], old["replaced_by"], old["revoked_reason"]) == (
        "AGENCY0001",
        "revoked",
        "PC-USB-0002",
        "replaced",
    )
    reg = revoke(reg, "AGENCY0002", TODAY)
    res = validate_register(reg, TODAY)
    assert res.active == []
    assert {e["serial"] for e in res.inactive} == {"AGENCY0001", "AGENCY0002"}
    with pytest.raises(RegisterError, match="no active register entry has serial 'AGENCY0002'"):
        revoke(reg, "AGENCY0002", TODAY)
    with pytest.raises(RegisterError, match="already in the register"):
        enrol(reg, entry(label="again"), TODAY)


# Register strings reach inventory files that Ansible templates, usbguard rules and reports.
# Every Jinja delimiter, quote, backslash, line break and control character is refused, in
# every text field, with the entry and the field named.
INJECTIONS = [
    "{{ lookup('pipe', 'id') }}",
    "{{lookup('pipe','id')}}",
    "{% if lookup('pipe', 'id') %}x{% endif %}",
    "{# comment #}",
    "A{{x}}",
    'A"B',
    "A'B",
    "A`B",
    "A\\B",
    "A\nB",
    "AGENCY0001\n",
    "AGENCY0001\r",
    "A\u2028B",
    "A\x85B",
    "A\u202eB",  # right-to-left override: the register would show another serial than the rule
    "A\x00B",
    " AGENCY0001",
    "AGENCY0001 ",
]


@pytest.mark.parametrize("field", ["serial", "label", "owner", "notes", "revoked_reason", "replaced_by", "replaces"])
@pytest.mark.parametrize("value", INJECTIONS)
@pytest.mark.control("6-17.device_register")
def test_register_text_refuses_templates_quotes_and_line_breaks(field, value):
    with pytest.raises(RegisterError) as err:
        validate_register([entry(**{field: value})], TODAY)
    assert "usb_storage_devices[0]" in str(err.value) and "%s %r" % (field, value) in str(err.value)


@pytest.mark.parametrize("bad", [10, 12.5, True, ["A"], {"a": 1}])
@pytest.mark.control("6-17.device_register")
def test_register_strings_must_be_strings(bad):
    # `serial: 0012` unquoted is the integer 10 in YAML 1.1: the rule would match another stick.
    with pytest.raises(RegisterError, match=r"usb_storage_devices\[0\].*serial .* not a string"):
        validate_register([entry(serial=bad)], TODAY)


@pytest.mark.parametrize("group", ["office\n", "a b", "{{x}}", "", "-x"])
@pytest.mark.control("6-17.device_register")
def test_register_groups_are_inventory_group_names(group):
    with pytest.raises(RegisterError, match=r"usb_storage_devices\[0\].*groups entry"):
        validate_register([entry(groups=[group])], TODAY)


@pytest.mark.parametrize("value", ["46f4:0001\n", "46f4:00011", " 46f4:0001"])
@pytest.mark.control("6-17.device_register")
def test_vid_pid_and_hash_are_full_matches(value):
    with pytest.raises(RegisterError, match="is not a VID:PID"):
        validate_register([entry(id=value)], TODAY)
    with pytest.raises(RegisterError, match="is not a usbguard device hash"):
        validate_register([entry(hash="A" * 43 + "=\n")], TODAY)


@pytest.mark.control("6-17.device_register")
def test_register_text_accepts_real_serials_labels_and_owners():
    ok = entry(serial="0401 23-AB_cd.ef:9/+{x}", label="PC-USB-0001 (総務課)", owner="田中 太郎", notes="spare {x}")
    res = validate_register([ok], TODAY)
    assert res.active[0]["serial"] == "0401 23-AB_cd.ef:9/+{x}" and res.active[0]["owner"] == "田中 太郎"
