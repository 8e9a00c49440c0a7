"""module_utils/common/host.py: container detection shared by console_audit and download_alert_info."""

from __future__ import annotations

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common import host


class FakeModule:
    """Just the two AnsibleModule methods in_container uses; records the commands run."""

    def __init__(self, detect: str | None, rc: int = 0, out: str = "") -> None:
        self.detect, self.rc, self.out = detect, rc, out
        self.commands: list[list[str]] = []

    def get_bin_path(self, name: str) -> str | None:
        return self.detect if name == "systemd-detect-virt" else None

    def run_command(self, cmd: list[str]) -> tuple[int, str, str]:
        self.commands.append(cmd)
        return self.rc, self.out, ""


def no_markers(_path: str) -> bool:
    return False


def test_systemd_detect_virt_names_the_container_engine() -> None:
    m = FakeModule("/usr/bin/systemd-detect-virt", 0, "podman\n")
    assert host.in_container(m, exists=no_markers)
    assert m.commands == [["/usr/bin/systemd-detect-virt", "--container"]]


def test_bare_metal_or_vm_is_not_a_container() -> None:
    # systemd-detect-virt --container prints "none" and exits 1 outside containers
    assert not host.in_container(FakeModule("/usr/bin/systemd-detect-virt", 1, "none\n"), exists=no_markers)


def test_a_host_without_systemd_detect_virt_is_not_run_into_a_missing_binary() -> None:
    # AnsibleModule.run_command fails the module on a missing executable ("Error executing
    # command."): without systemd there must be no call, and the marker files decide.
    m = FakeModule(None)
    assert not host.in_container(m, exists=no_markers)
    assert m.commands == []
    assert host.in_container(m, exists=lambda p: p == "/.dockerenv")


def test_an_engine_marker_counts_even_when_detection_says_none() -> None:
    m = FakeModule("/usr/bin/systemd-detect-virt", 1, "none\n")
    assert host.in_container(m, exists=lambda p: p == "/run/.containerenv")
