"""7-1.console_login_audit as the console_audit module builds it on the host."""

from __future__ import annotations

import pytest

from ansible_collections.pii_guard.safeguards.plugins.module_utils.console.login_audit import console_audit_finding


@pytest.mark.control("7-1.console_login_audit")
def test_console_audit_finding() -> None:
    ok = console_audit_finding({"rules file": True, "pam_tty_audit": True}, None, True)
    assert ok["status"] == "pass"
    bad = console_audit_finding({"rules file": False, "pam_tty_audit": True}, False, False)
    assert bad["status"] == "fail" and "rules file not as required" in bad["observed"]
    assert "not loaded" in bad["observed"]
    assert console_audit_finding({"rules file": True}, True, False, fixed=True)["status"] == "fixed"
    assert console_audit_finding({"rules file": True}, None, False)["status"] == "fail"
