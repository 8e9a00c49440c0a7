"""The syslog channel (issue 15, point 10): RFC 5424 bytes, escaping of hostile values, the
bounded spool, and the forwarder against a TCP collector on loopback that goes away and
comes back."""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.pii_guard.safeguards.plugins.module_utils.download import window as dw
from ansible_collections.pii_guard.safeguards.plugins.module_utils.download.sliding_window import forward as fw

ALERT = {
    "dataset": "citizens",
    "user": "clerk",
    "count": 100,
    "window": 60,
    "threshold": 100,
    "host": "ws01",
    "first_event": "2026-11-30T08:00:00.000Z",
    "last_event": "2026-11-30T08:00:59.000Z",
    "raised": "2026-11-30T08:01:00.250Z",
    "message": "pii-download-alert: user clerk read 100 records",
}


def parse_sd(message: bytes) -> tuple[str, dict[str, str]]:
    """A strict reader of the one SD-ELEMENT (RFC 5424 section 6.3): its SD-ID and params,
    unescaped as a collector does. Raises on anything it does not expect."""
    text = message.decode("utf-8")
    start = text.index(" [") + 2
    sd_id, _, rest = text[start:].partition(" ")
    params: dict[str, str] = {}
    i = 0
    while rest[i] != "]":
        name, eq, tail = rest[i:].partition("=")
        assert eq and tail[0] == '"' and " " not in name, rest[i:]
        i += len(name) + 2
        value = []
        while rest[i] != '"':
            if rest[i] == "\\" and rest[i + 1] in '"\\]':
                i += 1
            else:
                assert rest[i] not in '"]', "unescaped %r in %r" % (rest[i], rest)
            value.append(rest[i])
            i += 1
        params[name] = "".join(value)
        i += 1
        if rest[i] == " ":
            i += 1
    assert rest[i + 1] == " ", rest[i:]  # SP MSG follows the one element
    return sd_id, params


@pytest.mark.control("6-5.agent_running")
def test_exact_bytes_of_a_message():
    out = fw.format_message(ALERT, procid=4242)
    assert out == (
        b"<84>1 2026-11-30T08:01:00.250Z ws01 pii-download-alert 4242 download-alert "
        b'[pii-download-alert@32473 dataset="citizens" user="clerk" count="100" window="60" threshold="100" '
        b'host="ws01" first_event="2026-11-30T08:00:00.000Z" last_event="2026-11-30T08:00:59.000Z"] '
        b"\xef\xbb\xbfpii-download-alert: user clerk read 100 records"
    )
    assert fw.format_message(ALERT, facility="local3", pen=99999).startswith(b"<156>1 ")
    assert b"[pii-download-alert@99999 " in fw.format_message(ALERT, pen=99999)
    assert fw.frame(b"<84>1 x") == b"7 <84>1 x"
    assert fw.frame("é".encode()) == b"2 \xc3\xa9"  # octets, not characters


@pytest.mark.control("6-5.agent_running")
def test_hostile_user_and_host_cannot_break_out_of_the_structured_data():
    alert = dict(ALERT, user='ev"il] x=\\"y"\nname\x00\u2028', host="ws 01\n<0>", dataset="a]b")
    out = fw.format_message(alert)
    assert out.count(b"\n") == 0 and b"\x00" not in out and "\u2028".encode() not in out
    head = out.split(b" ")
    assert head[2] == b"ws_01_<0>"  # HOSTNAME: printable ASCII, no space
    assert b' user="ev\\"il\\] x=\\\\x5c\\"y\\"\\\\x0aname\\\\x00\\\\u2028" ' in out
    sd_id, params = parse_sd(out)
    assert sd_id == "pii-download-alert@32473"
    assert params["user"] == dw.escape(alert["user"]) == 'ev"il] x=\\x5c"y"\\x0aname\\x00\\u2028'
    assert params["dataset"] == "a]b" and params["host"] == "ws 01\\x0a<0>"
    assert list(params) == list(fw.SD_PARAMS)


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text())
def test_any_user_and_path_round_trip_through_a_strict_sd_reader(user, dataset):
    out = fw.format_message(dict(ALERT, user=user, dataset=dataset))
    assert b"\n" not in out and b"\x00" not in out
    _sd_id, params = parse_sd(out)
    assert params["user"] == dw.escape(user) and params["dataset"] == dw.escape(dataset)


def hostile(user: str, **kw: object) -> dict:
    """ALERT for ``user``, with the alert text the agent writes (escaped, the user in it too)."""
    return dict(ALERT, user=user, message="pii-download-alert: user %s read 100 records" % dw.escape(user), **kw)


def assert_cut(out: bytes, alert: dict, cap: int) -> dict[str, str]:
    """Within the cap, valid UTF-8, strictly parseable, marked; every value and MSG a prefix of
    the full one ending at a whole character and a whole escape; little room left unused."""
    assert len(out) <= cap
    assert cap - len(out) < 32  # the cut values share the room; each leaves less than one escape
    _sd_id, params = parse_sd(out)
    assert list(params) == [*fw.SD_PARAMS, "truncated"] and params["truncated"] == "1"
    for k in fw.CUT_PARAMS:
        assert dw.escape(alert[k]).startswith(params[k])
    msg = out.split(b"] \xef\xbb\xbf", 1)[1].decode("utf-8")
    assert alert["message"].startswith(msg) and not re.search(r"\\(x[0-9a-f]?|u[0-9a-f]{0,3})?\Z", msg)
    return params


@pytest.mark.control("6-5.agent_running")
def test_a_100_kb_user_name_is_cut_to_the_cap_and_marked():
    alert = hostile("u" * 100_000)
    out = fw.format_message(alert)
    params = assert_cut(out, alert, 2048)
    assert params["dataset"] == "citizens" and params["host"] == "ws01" and params["count"] == "100"
    assert len(params["user"]) > 600  # user and MSG share what the header and fixed params leave
    assert len(fw.format_message(alert, max_bytes=65536)) <= 65536
    # under the cap nothing changes: no mark
    assert b"truncated" not in fw.format_message(ALERT) and len(fw.format_message(ALERT)) < 2048


@pytest.mark.control("6-5.agent_running")
@pytest.mark.parametrize("char", ["é", "山", "\U0001f600", "\u2028", "\x1b"])
def test_multibyte_and_escaped_characters_are_never_split_at_the_boundary(char):
    for n in (600, 601):
        alert = hostile("a" + char * n, dataset="d" + char * 3)
        for cap in range(1024, 1040):  # the boundary falls at every offset of a character
            assert_cut(fw.format_message(alert, max_bytes=cap), alert, cap)


@pytest.mark.control("6-5.agent_running")
@pytest.mark.parametrize("unit", ['"', "\\", "]", '"\\]', "\\x1b"])
def test_sd_escapes_are_never_split_at_the_boundary(unit):
    for n in (300, 301):
        alert = hostile(unit * n)
        for cap in range(1024, 1040):  # the boundary falls at every offset of an escape
            params = assert_cut(fw.format_message(alert, max_bytes=cap), alert, cap)
            assert params["user"]  # something of the name is kept


@pytest.mark.control("6-5.agent_running")
def test_the_smallest_cap_holds_with_the_longest_header():
    alert = hostile("x" * 100_000, host="h" * 255, dataset="d" * 5000, raised="2026-11-30T08:01:00.250123+09:00")
    out = fw.format_message(alert, facility="local7", pen=4294967295, procid=4194304, max_bytes=fw.MIN_MESSAGE_BYTES)
    params = assert_cut(out, alert, fw.MIN_MESSAGE_BYTES)
    assert min(len(params[k]) for k in ("user", "dataset", "host")) >= 60


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"host": "collector.example.org\n"}, "host must be a host name or an IP address"),
        ({"host": "-bad"}, "host must be a host name or an IP address"),
        ({"host": ""}, "host must be a host name or an IP address"),
        ({"port": 0}, "port must be an integer 1..65535, got 0"),
        ({"port": 65536}, "port must be an integer 1..65535, got 65536"),
        ({"port": "514"}, "port must be an integer 1..65535, got '514'"),
        ({"tls": "yes"}, "tls must be true or false"),
        ({"ca_file": "ca.pem"}, "ca_file must be an absolute path"),
        ({"facility": "mail"}, "facility must be one of kern, user"),
        ({"spool_max_messages": 0}, "spool_max_messages must be an integer 1..1000000"),
        ({"spool_max_bytes": 100}, "spool_max_bytes must be an integer 4096.."),
        ({"max_message_bytes": 1023}, "max_message_bytes must be an integer 1024..65536, got 1023"),
        ({"max_message_bytes": 65537}, "max_message_bytes must be an integer 1024..65536, got 65537"),
        ({"colour": "red"}, "unknown setting 'colour'"),
    ],
)
def test_settings_are_checked_with_full_matches(change, message):
    good = {"host": "127.0.0.1", "port": 6514, "tls": True, "ca_file": "/etc/ssl/ca.pem"}
    assert fw.settings_errors(good) == []
    assert fw.settings_errors({"host": "::1"}) == [] and fw.settings_errors({"host": "logs.example.org"}) == []
    errors = fw.settings_errors(dict(good, **change))
    assert len(errors) == 1 and message in errors[0], errors
    cfg = {"datasets": [], "channels": {"syslog": dict(good, **change)}}
    assert any(message in e for e in dw.validate_config(cfg, check_paths=False))


# ---------------------------------------------------------------------------- the spool
@pytest.mark.control("6-5.agent_running")
def test_spool_keeps_order_across_a_restart_and_drops_the_oldest_when_full(tmp_path):
    logged: list[tuple[int, str]] = []
    spool = fw.Spool(str(tmp_path / "spool"), 3, 1 << 20, lambda lvl, m: logged.append((lvl, m)))
    for i in range(3):
        spool.put(b"m%d" % i)
    again = fw.Spool(str(tmp_path / "spool"), 3, 1 << 20, lambda lvl, m: logged.append((lvl, m)))  # a restart
    assert [again.read(n) for n in again.pending()] == [b"m0", b"m1", b"m2"] and logged == []
    again.put(b"m3")
    again.put(b"m4")
    assert [again.read(n) for n in again.pending()] == [b"m2", b"m3", b"m4"]
    assert again.dropped == 2 and [lvl for lvl, _ in logged] == [4, 4]
    assert "dropped the 1 oldest alert(s) (2 in total)" in logged[-1][1]
    again.remove(again.pending()[:2])
    again.put(b"m5")
    assert [again.read(n) for n in again.pending()] == [b"m4", b"m5"]
    assert not [p for p in (tmp_path / "spool").iterdir() if p.name.startswith(".tmp")]


def test_spool_byte_bound_keeps_at_least_the_newest(tmp_path):
    logged: list[str] = []
    spool = fw.Spool(str(tmp_path), 100, 10, lambda _lvl, m: logged.append(m))
    spool.put(b"aaaa")
    spool.put(b"bbbb")
    assert [spool.read(n) for n in spool.pending()] == [b"aaaa", b"bbbb"]
    spool.put(b"cccc")  # 12 bytes > 10: the oldest goes
    assert [spool.read(n) for n in spool.pending()] == [b"bbbb", b"cccc"] and spool.dropped == 1
    spool.put(b"x" * 50)  # alone over the bound: kept, everything older dropped
    assert [spool.read(n) for n in spool.pending()] == [b"x" * 50] and spool.dropped == 3


# ---------------------------------------------------------------------------- the forwarder
class Collector:
    """An octet-counting TCP syslog receiver on 127.0.0.1 that can be stopped and restarted
    on the same port; it closes a connection at the sender's half-close, as rsyslog does."""

    def __init__(self) -> None:
        self.port = 0
        self.received: list[bytes] = []
        self.sock: socket.socket | None = None

    def start(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(8)
        threading.Thread(target=self._serve, args=(self.sock,), daemon=True).start()

    def stop(self) -> None:
        assert self.sock is not None
        if self.sock.fileno() >= 0:  # not stopped yet
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept(); close() alone would not
            self.sock.close()

    def _serve(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                data = b""
                while chunk := conn.recv(65536):
                    data += chunk
                while data:
                    size, _, rest = data.partition(b" ")
                    self.received.append(rest[: int(size)])
                    data = rest[int(size) :]


def wait_for(cond, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


@pytest.mark.control("6-5.agent_running")
def test_forwarder_spools_while_the_collector_is_down_and_sends_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(fw, "MIN_BACKOFF", 0.1)
    monkeypatch.setattr(fw, "MAX_BACKOFF", 0.2)
    collector = Collector()
    collector.start()
    logged: list[tuple[int, str]] = []
    target = {"host": "127.0.0.1", "port": collector.port}
    fwd = fw.Forwarder(target, str(tmp_path / "spool"), lambda *a: logged.append(a))
    fwd.start()
    try:
        fwd.submit(dict(ALERT, user="u0"))
        wait_for(lambda: len(collector.received) == 1)
        collector.stop()
        for i in range(1, 6):
            fwd.submit(dict(ALERT, user="u%d" % i))
        wait_for(lambda: any("unavailable" in m for _, m in logged))
        assert len(fwd.spool.pending()) == 5
        collector.start()
        wait_for(lambda: len(collector.received) == 6)
        wait_for(lambda: not fwd.spool.pending())
    finally:
        fwd.stop()
    users = [parse_sd(m)[1]["user"] for m in collector.received]
    assert users == ["u%d" % i for i in range(6)]
    assert any("reachable again" in m for _, m in logged)


def test_a_spool_left_by_a_previous_run_is_sent_first(tmp_path):
    spool = fw.Spool(str(tmp_path), 10, 1 << 20, lambda *a: None)
    spool.put(fw.format_message(dict(ALERT, user="before-restart")))
    collector = Collector()
    collector.start()
    fwd = fw.Forwarder({"host": "127.0.0.1", "port": collector.port}, str(tmp_path), lambda *a: None)
    fwd.start()
    try:
        fwd.submit(dict(ALERT, user="after-restart"))
        wait_for(lambda: len(collector.received) == 2)
    finally:
        fwd.stop()
        collector.stop()
    assert [parse_sd(m)[1]["user"] for m in collector.received] == ["before-restart", "after-restart"]


def test_a_collector_that_never_answers_does_not_block_submit(tmp_path):
    """submit() only writes the spool; the connection attempt happens on the worker thread."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)  # accepts nothing: connects may hang in the backlog
    target = {"host": "127.0.0.1", "port": listener.getsockname()[1], "connect_timeout": 1}
    fwd = fw.Forwarder(target, str(tmp_path), lambda *a: None)
    fwd.start()
    try:
        start = time.monotonic()
        for i in range(20):
            fwd.submit(dict(ALERT, user="u%d" % i))
        assert time.monotonic() - start < 1.0
        assert len(fwd.spool.pending()) == 20
    finally:
        fwd.stop()
        listener.close()


def test_the_role_variables_become_the_agent_channel_only_when_a_host_is_set():
    from ansible_collections.pii_guard.safeguards.plugins.module_utils.download import audit

    off = audit.agent_config([], {"journal": True, "syslog": {"host": "", "port": 514}}, "2026-11-01", 180)
    assert "syslog" not in off["channels"]
    on = audit.agent_config(
        [],
        {"syslog": {"host": "192.0.2.10", "port": "6514", "tls": "true", "ca_file": "", "facility": "local4"}},
        "",
        1,
    )
    assert on["channels"]["syslog"] == {"host": "192.0.2.10", "port": 6514, "tls": True, "facility": "local4"}
    assert fw.settings_errors(on["channels"]["syslog"]) == []


# ---------------------------------------------------------------------------- TLS
@pytest.fixture
def tls_collector(tmp_path, request):
    """A TLS collector on 127.0.0.1 with a self-signed certificate (openssl CLI) for the names
    the test asks for (default 127.0.0.1 and localhost); yields (port, ca_file, received)."""
    names = getattr(request, "param", "IP:127.0.0.1,DNS:localhost")
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl CLI not installed")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=" + names],
        check=True, capture_output=True,
    )  # fmt: skip
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    received: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    data = b""
                    while chunk := tls.recv(65536):
                        data += chunk
                    received.append(data)
            except (OSError, ssl.SSLError):
                continue  # a client that refused our certificate

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1], str(cert), received
    listener.shutdown(socket.SHUT_RDWR)
    listener.close()


def test_tls_verifies_the_collector_and_delivers(tmp_path, tls_collector):
    port, ca, received = tls_collector
    fwd = fw.Forwarder({"host": "127.0.0.1", "port": port, "tls": True, "ca_file": ca}, str(tmp_path / "s"), print)
    fwd.submit(dict(ALERT, user="over-tls"))
    assert fwd.flush() is True and fwd.spool.pending() == []
    wait_for(lambda: received)
    size, _, message = received[0].partition(b" ")
    assert int(size) == len(message) and parse_sd(message)[1]["user"] == "over-tls"


def test_tls_refuses_an_unverified_collector_and_keeps_the_alert(tmp_path, tls_collector):
    port, _ca, received = tls_collector
    logged: list[str] = []
    # no ca_file: the system bundle, which does not know the self-signed certificate
    fwd = fw.Forwarder(
        {"host": "127.0.0.1", "port": port, "tls": True}, str(tmp_path / "s"), lambda _l, m: logged.append(m)
    )
    fwd.submit(dict(ALERT, user="kept"))
    assert fwd.flush() is False and len(fwd.spool.pending()) == 1
    assert "CERTIFICATE_VERIFY_FAILED" in logged[0]
    assert received == []


@pytest.mark.parametrize("tls_collector", ["DNS:collector.example"], indirect=True)
def test_tls_refuses_a_certificate_for_another_name(tmp_path, tls_collector):
    port, ca, received = tls_collector
    logged: list[str] = []
    target = {"host": "127.0.0.1", "port": port, "tls": True, "ca_file": ca}
    fwd = fw.Forwarder(target, str(tmp_path / "s"), lambda _l, m: logged.append(m))
    fwd.submit(dict(ALERT, user="kept"))
    assert fwd.flush() is False and len(fwd.spool.pending()) == 1
    assert "IP address mismatch" in logged[0] and received == []


@pytest.mark.control("6-5.agent_running")
def test_the_agent_process_forwards_its_alerts_and_spools_while_the_collector_is_down(tmp_path):
    """The agent as a real process (test_agent.Lab): one alert per user reaches a loopback
    collector; with the collector gone the next ones wait in <state dir>/syslog-spool and
    arrive, in order, once it is back."""
    from test_agent import Lab

    collector = Collector()
    collector.start()
    channels = {
        "journal": False,
        "session": False,
        "webhook": None,
        "syslog": {"host": "127.0.0.1", "port": collector.port},
    }
    lab = Lab(tmp_path, channels=channels)
    try:
        lab.start()
        lab.read_files(100, user="clerk", auid=1001)
        lab.wait_for(lambda: len(collector.received) == 1, what="first alert at the collector")
        collector.stop()
        lab.read_files(100, user="temp", auid=1002)
        lab.read_files(100, user="ando", auid=1003)
        spool = tmp_path / "syslog-spool"
        lab.wait_for(lambda: len(list(spool.glob("*.msg"))) == 2, what="two spooled alerts")
        collector.start()
        lab.wait_for(lambda: len(collector.received) == 3, timeout=20, what="spooled alerts sent")
        lab.stop()
    finally:
        if lab.proc and lab.proc.poll() is None:
            lab.proc.kill()
        collector.stop()
    assert [parse_sd(m)[1]["user"] for m in collector.received] == ["clerk", "temp", "ando"]
    assert [a["user"] for a in lab.alert_lines()] == ["clerk", "temp", "ando"]
    assert list(spool.glob("*.msg")) == []


def test_a_missing_ca_file_is_named_before_any_change(tmp_path):
    from ansible_collections.pii_guard.safeguards.plugins.module_utils.download import audit

    ca = str(tmp_path / "ca.pem")
    cfg = audit.agent_config([], {"syslog": {"host": "logs.example.org", "tls": True, "ca_file": ca}}, "", 1)
    assert audit.required_paths(cfg) == [ca]  # download_alert_info fails naming it
    assert "channels.syslog.ca_file %s does not exist" % ca in dw.validate_config(cfg)  # --check-config
    assert not any("ca_file" in e for e in dw.validate_config(cfg, check_paths=False))  # controller side


def test_an_unreadable_spool_is_reported_and_the_forwarder_keeps_running(tmp_path, monkeypatch):
    monkeypatch.setattr(fw, "MIN_BACKOFF", 0.05)
    logged: list[tuple[int, str]] = []
    fwd = fw.Forwarder({"host": "127.0.0.1", "port": 9}, str(tmp_path / "s"), lambda *a: logged.append(a))

    def broken() -> list[str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(fwd.spool, "pending", broken)
    fwd.start()
    try:
        wait_for(lambda: logged)
        assert logged[0][0] == 3 and "unusable: [Errno 13] Permission denied" in logged[0][1]
        assert fwd.thread.is_alive()
    finally:
        fwd.stop()
