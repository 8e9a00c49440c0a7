"""usbguard rule rendering/parsing for clause 6-17, checked against usbguard's own parser."""

from __future__ import annotations

import datetime
import shutil
import subprocess
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb.register import (
    SERIAL_RE,
    TEXT_RE,
    validate_register,
)
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb.usbguard import (
    HID_HUB_RULE,
    SMARTPHONE_RULE,
    PolicyError,
    escape,
    expected_target,
    parse_conf,
    parse_list_devices,
    parse_rule,
    render_conf,
    render_rules,
    rule_lines,
    select_entries,
    unescape,
    validate_daemon_settings,
)

PARSER = shutil.which("usbguard-rule-parser")
needs_parser = pytest.mark.skipif(PARSER is None, reason="usbguard-rule-parser missing: run tools/apt-deps.sh")
TODAY = datetime.date(2026, 11, 28)


def parse_with_usbguard(text: str) -> list[str]:
    """Feed a rules file to the real parser; return its normalised OUTPUT lines."""
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as fh:
        fh.write(text)
        fh.flush()
        proc = subprocess.run([PARSER, "-f", fh.name], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [ln[len("OUTPUT: ") :] for ln in proc.stdout.splitlines() if ln.startswith("OUTPUT: ") and ln[8:].strip()]


def reg(*entries):
    return validate_register(list(entries), TODAY).active


def dev(**kw):
    base = {"id": "46f4:0001", "label": "L1", "issued_on": "2026-01-01", "serial": "AGENCY0001"}
    base.update(kw)
    return base


@pytest.mark.control("6-17.usbguard_rules")
def test_prohibit_renders_only_hid_and_hubs():
    text = render_rules("prohibit", reg(dev()))
    assert rule_lines(text) == [HID_HUB_RULE]


@pytest.mark.control("6-17.usbguard_rules", "6-17.device_register")
def test_agency_issued_only_renders_register_after_hid():
    # The register refuses quotes, backslashes and non-ASCII in serials (module_utils/usb/test_register.py);
    # the renderer still escapes them, for entries that reach it by another way.
    second = dict(reg(dev(serial="Q", label="L2", id="0781:5581"))[0], serial='Q"\\é')
    text = render_rules("agency_issued_only", [*reg(dev()), second])
    assert rule_lines(text) == [
        HID_HUB_RULE,
        'allow id 46f4:0001 serial "AGENCY0001" label "pii-guard:L1"',
        'allow id 0781:5581 serial "Q\\"\\\\\\xc3\\xa9" label "pii-guard:L2"',
    ]


@pytest.mark.control("6-17.usbguard_rules")
def test_audit_only_ends_with_catch_all_allow():
    assert rule_lines(render_rules("audit_only", reg(dev())))[-1] == "allow"


@pytest.mark.control("6-17.usbguard_rules")
def test_unknown_mode_refused():
    with pytest.raises(PolicyError, match="usb_storage_mode 'open' is not one of"):
        render_rules("open", [])


@pytest.mark.control("6-17.usbguard_rules", "6-17.device_register")
def test_revoked_and_expired_never_rendered():
    entries = validate_register(
        [dev(), dev(serial="R", label="L2", state="revoked"), dev(serial="E", label="L3", expires_on="2026-06-01")],
        TODAY,
    )
    text = render_rules("agency_issued_only", entries.active)
    assert '"R"' not in text and '"E"' not in text and '"AGENCY0001"' in text


@pytest.mark.control("6-17.device_register")
def test_select_entries_groups_and_kinds():
    active = reg(
        dev(),
        dev(serial="P", label="phone", kind="smartphone"),
        dev(serial="O", label="dvd", kind="optical"),
        dev(serial="S", label="server-only", groups=["system_room"]),
    )
    rendered, skipped = select_entries(active, ["office"], block_optical=True)
    assert [e["label"] for e in rendered] == ["L1", "phone"]
    assert {e["label"]: e["reason"] for e in skipped} == {
        "dvd": "optical drives blocked (usb_storage_block_optical)",
        "server-only": "not for this host's groups",
    }
    rendered, _ = select_entries(active, ["system_room"], block_optical=False)
    assert {e["label"] for e in rendered} == {"L1", "phone", "dvd", "server-only"}


@pytest.mark.control("6-17.smartphone_blocked")
def test_smartphone_switch():
    assert SMARTPHONE_RULE not in render_rules("agency_issued_only", [])
    assert rule_lines(render_rules("agency_issued_only", [], block_smartphones=False))[-1] == SMARTPHONE_RULE
    assert SMARTPHONE_RULE not in render_rules("prohibit", [], block_smartphones=False)
    phone = {"id": "18d1:4ee1", "serial": "X", "with-interface": ["ff:ff:00"]}
    assert expected_target("agency_issued_only", phone, []) == "block"
    assert expected_target("agency_issued_only", phone, [], block_smartphones=False) == "allow"
    assert expected_target("prohibit", phone, [], block_smartphones=False) == "block"


# Lines as usbguard 1.1.2 prints them (trimmed to the attributes used).
LIST_DEVICES = """\
1: allow id 1d6b:0003 serial "0000:00:04.0" name "xHCI" hash "abc=" via-port "usb2" with-interface 09:00:03
5: block id 46f4:0001 serial "PRIVATE9999" name "QEMU USB HARDDRIVE" hash "h1=" via-port "2-1" with-interface 08:06:50
6: allow id 0627:0001 serial "68284-1" name "QEMU USB Keyboard" hash "h2=" via-port "1-2" with-interface 03:01:01
7: block id 46f4:0004 serial "x\\"y" name "QEMU filesharing" via-port "1-1.1" with-interface { 06:01:01 ff:ff:00 }
"""


@pytest.mark.control("6-17.connected_devices")
def test_parse_list_devices_and_policy_expectation():
    devs = parse_list_devices(LIST_DEVICES)
    assert [d["number"] for d in devs] == [1, 5, 6, 7]
    assert devs[1]["serial"] == "PRIVATE9999" and devs[1]["target"] == "block"
    assert devs[3]["with-interface"] == ["06:01:01", "ff:ff:00"] and devs[3]["serial"] == 'x"y'
    active = reg(dev())
    assert [expected_target("agency_issued_only", d, active) for d in devs] == ["allow", "block", "allow", "block"]
    enrolled = dict(devs[1], serial="AGENCY0001")
    assert expected_target("agency_issued_only", enrolled, active) == "allow"
    assert expected_target("prohibit", enrolled, active) == "block"


@pytest.mark.control("6-17.usbguard_daemon_config")
def test_daemon_conf_render_keeps_comments_and_replaces_keys():
    text = "# hello\nImplicitPolicyTarget=allow\nRuleFolder=/etc/usbguard/rules.d/\nImplicitPolicyTarget=keep\n"
    out = render_conf(text, {"ImplicitPolicyTarget": "block", "AuditBackend": "LinuxAudit"})
    assert out.startswith("# hello\nImplicitPolicyTarget=block\n")
    assert parse_conf(out) == {
        "ImplicitPolicyTarget": "block",
        "RuleFolder": "/etc/usbguard/rules.d/",
        "AuditBackend": "LinuxAudit",
    }
    assert render_conf(out, {"ImplicitPolicyTarget": "block", "AuditBackend": "LinuxAudit"}) == out  # idempotent


@pytest.mark.parametrize(
    ("settings", "needle"),
    [
        ({"ImplicitPolicyTarget": "maybe"}, "ImplicitPolicyTarget='maybe'"),
        ({"NoSuchKey": "1"}, "'NoSuchKey'"),
        ({"IPCAllowedGroups": "root; rm"}, "'root;'"),
    ],
)
@pytest.mark.control("6-17.usbguard_daemon_config")
def test_daemon_settings_validation(settings, needle):
    with pytest.raises(PolicyError) as exc:
        validate_daemon_settings(settings)
    assert needle in str(exc.value)


@needs_parser
@pytest.mark.control("6-17.usbguard_rules")
def test_real_parser_accepts_every_mode():
    active = reg(dev(), dev(serial="x y", label="L2"))
    for mode in ("prohibit", "agency_issued_only", "audit_only"):
        text = render_rules(mode, active)
        assert parse_with_usbguard(text) == rule_lines(text)


# Serials and labels: any text the register accepts (printable ASCII serials, printable labels
# with non-ASCII letters; no quotes, backslash, Jinja delimiters: test_register.py).
_serial = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=24).filter(
    SERIAL_RE.fullmatch
)
_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\x7f"), min_size=1, max_size=24
).filter(lambda s: bool(TEXT_RE.fullmatch(s)) and s.isprintable())
_hex4 = st.text(alphabet="0123456789abcdefABCDEF", min_size=4, max_size=4)
_hash = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", min_size=43, max_size=43)


@st.composite
def registers(draw):
    n = draw(st.integers(min_value=0, max_value=6))
    entries = []
    serials = draw(st.lists(_serial, min_size=n, max_size=n, unique=True))
    labels = draw(st.lists(_text, min_size=n, max_size=n, unique=True))
    for serial, label in zip(serials, labels, strict=True):
        e = {"id": "%s:%s" % (draw(_hex4), draw(_hex4)), "label": label, "issued_on": "2026-01-01"}
        choice = draw(st.sampled_from(["serial", "hash", "both"]))
        if choice in ("serial", "both"):
            e["serial"] = serial
        if choice in ("hash", "both"):
            e["hash"] = draw(_hash) + "="
        e["state"] = draw(st.sampled_from(["active", "revoked"]))
        e["kind"] = draw(st.sampled_from(["storage", "smartphone", "optical"]))
        entries.append(e)
    return entries


@needs_parser
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=registers(), mode=st.sampled_from(["prohibit", "agency_issued_only", "audit_only"]))
@pytest.mark.control("6-17.usbguard_rules")
def test_every_generated_policy_is_accepted_by_usbguard(entries, mode):
    result = validate_register(entries, TODAY)
    rendered, _ = select_entries(result.active, [], block_optical=False)
    text = render_rules(mode, rendered, block_smartphones=bool(len(rendered) % 2))
    # The real parser accepts the file and prints each rule back exactly as we wrote it.
    assert parse_with_usbguard(text) == rule_lines(text)
    # Our own parser reads the serials back unchanged (evidence matching relies on it).
    parsed = [parse_rule(line) for line in rule_lines(text)]
    allowed = [p for p in parsed if "label" in p]
    assert len(allowed) == (0 if mode == "prohibit" else len(rendered))
    by_label = {p["label"]: p for p in allowed}
    for e in rendered if mode != "prohibit" else []:
        p = by_label["pii-guard:%s" % e["label"]]
        assert (p["id"], p.get("serial"), p.get("hash")) == (e["id"], e.get("serial"), e.get("hash"))
    # Revoked entries never reach a rule.
    rendered_serials = {p.get("serial") for p in allowed}
    assert not any(e.get("serial") in rendered_serials for e in result.inactive if e.get("serial"))


@given(st.text(max_size=30))
@pytest.mark.control("6-17.usbguard_rules")
def test_escape_roundtrip(s):
    assert unescape(escape(s)[1:-1]) == s
