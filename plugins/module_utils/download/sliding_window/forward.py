# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Alerts forwarded to a collector as RFC 5424 syslog over TCP (TLS optional), through a
bounded on-disk spool (issue 15, point 10). The one module of the package that does I/O.

  format_message   the RFC 5424 message of an alert (bytes, exact)
  frame            octet-counted framing, RFC 6587 section 3.4.1
  Spool            one file per message under the agent's state directory, oldest first
  Forwarder        a worker thread that sends the spool in order, with backoff

Delivery is at least once: a batch is removed from the spool only after the collector has
read it up to our half-close and closed its side (rsyslog's imtcp does so at end of input).
A collector that dies between reading a batch and closing may get that batch again.

When the spool is full the OLDEST messages are dropped (a journal warning says how many):
whoever reads the collector after an outage must see what is happening now, and every alert
also stays in the host's alert log and journal.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
import re
import socket
import ssl
import threading
from typing import Any, Callable, Dict, Iterable, List, Optional

from .config import escape

APP_NAME = "pii-download-alert"
MSGID = "download-alert"
SD_NAME = "pii-download-alert"
# 32473 is the Private Enterprise Number IANA reserves for documentation (RFC 5612): a
# placeholder. An agency with its own PEN sets enterprise_number.
DOCUMENTATION_PEN = 32473
SEVERITY_WARNING = 4
FACILITIES = {
    "kern": 0,
    "user": 1,
    "daemon": 3,
    "auth": 4,
    "authpriv": 10,
    "local0": 16,
    "local1": 17,
    "local2": 18,
    "local3": 19,
    "local4": 20,
    "local5": 21,
    "local6": 22,
    "local7": 23,
}
SD_PARAMS = ("dataset", "user", "count", "window", "threshold", "host", "first_event", "last_event")
BOM = b"\xef\xbb\xbf"
DEFAULTS = {
    "port": 514,
    "tls": False,
    "ca_file": None,
    "facility": "authpriv",
    "enterprise_number": DOCUMENTATION_PEN,
    "spool_max_messages": 1000,
    "spool_max_bytes": 1 << 20,
    "connect_timeout": 3,
    "max_message_bytes": 2048,
}
# RFC 5424 section 6.1: receivers SHOULD accept 2048 octets and MAY truncate longer messages.
# Values read from logs (user, data set) are cut to fit, each at a whole character and never
# inside an escape, and the element then carries truncated="1". The header and the fixed params
# take at most about 700 octets: the smallest cap leaves room for the values.
MIN_MESSAGE_BYTES = 1024
MAX_MESSAGE_BYTES = 65536
# PARAM-VALUEs cut to fit (read from logs, or the host's name); MSG is cut the same way
CUT_PARAMS = ("dataset", "user", "host")
_MSG_UNIT = re.compile(r"\\x[0-9a-f]{2}|\\u[0-9a-f]{4}|.", re.S)
MIN_BACKOFF = 1.0
# Once connected, how long sending and the collector's close may take. Generous: it runs on
# the forwarder's thread, and giving up after the collector has read a batch sends it twice.
SEND_TIMEOUT = 30.0
MAX_BACKOFF = 60.0
BATCH = 100
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_RE = re.compile(r"(?=.{1,253}\Z)%s(?:\.%s)*" % (_LABEL, _LABEL))
_SD_SPECIAL = re.compile(r'["\\\]]')
_SPOOL_NAME = re.compile(r"[0-9]{16}\.msg")
Log = Callable[[int, str], None]


# ---------------------------------------------------------------------------- the message
def sd_value(value: Any) -> str:
    """A PARAM-VALUE: control characters escaped first (config.escape), then the three
    characters RFC 5424 section 6.3.3 requires escaped inside quotes: ``"``, ``\\`` and ``]``."""
    return _SD_SPECIAL.sub(lambda m: "\\" + m.group(0), escape(value))


def header_field(value: Any, limit: int) -> str:
    """HOSTNAME / PROCID: printable US-ASCII without spaces, at most ``limit`` characters."""
    text = re.sub(r"[^\x21-\x7e]", "_", str(value))[:limit]
    return text or "-"


def format_message(
    alert: Dict[str, Any],
    facility: str = "authpriv",
    pen: int = DOCUMENTATION_PEN,
    procid: Any = "-",
    max_bytes: int = DEFAULTS["max_message_bytes"],
) -> bytes:
    """``<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] BOM MSG`` of one alert, at most
    ``max_bytes`` octets: over it, the longest values are cut (see CUT_PARAMS) and marked."""
    pri = FACILITIES[facility] * 8 + SEVERITY_WARNING
    values = {k: sd_value(alert[k]) for k in SD_PARAMS}
    # the alert text is escaped already (config.alert_text); escape() again would double it
    text = alert["message"]
    head = "<%d>1 %s %s %s %s %s [%s@%d " % (
        pri,
        alert["raised"],
        header_field(alert["host"], 255),
        APP_NAME,
        header_field(procid, 128),
        MSGID,
        SD_NAME,
        pen,
    )
    out = _assemble(head, values, text, False)
    if len(out) <= max_bytes:
        return out
    sizes = [len(values[k].encode("utf-8")) for k in CUT_PARAMS] + [len(text.encode("utf-8"))]
    fixed = len(_assemble(head, dict(values, **dict.fromkeys(CUT_PARAMS, "")), "", True))
    shares = _fair_shares(sizes, max_bytes - fixed)
    for i, k in enumerate(CUT_PARAMS):
        values[k] = _cut((sd_value(c) for c in str(alert[k])), shares[i])
    return _assemble(head, values, _cut((m.group(0) for m in _MSG_UNIT.finditer(text)), shares[-1]), True)


def _assemble(head: str, values: Dict[str, str], text: str, truncated: bool) -> bytes:
    params = " ".join('%s="%s"' % (k, values[k]) for k in SD_PARAMS)
    mark = ' truncated="1"' if truncated else ""
    return (head + params + mark + "] ").encode("utf-8") + BOM + text.encode("utf-8")


def _fair_shares(sizes: List[int], budget: int) -> List[int]:
    """Octets per value, at most its size: short values whole, the long ones share the rest equally."""
    shares = [0] * len(sizes)
    left = max(budget, 0)
    order = sorted(range(len(sizes)), key=sizes.__getitem__)
    for n, i in enumerate(order):
        shares[i] = min(sizes[i], left // (len(sizes) - n))
        left -= shares[i]
    return shares


def _cut(units: Iterable[str], limit: int) -> str:
    """The longest run of whole units (a character, or one escape) fitting ``limit`` UTF-8 octets."""
    out: List[str] = []
    used = 0
    for unit in units:
        used += len(unit.encode("utf-8"))
        if used > limit:
            break
        out.append(unit)
    return "".join(out)


def frame(message: bytes) -> bytes:
    """Octet-counting (RFC 6587 section 3.4.1): ``MSG-LEN SP SYSLOG-MSG``."""
    return b"%d %s" % (len(message), message)


# ---------------------------------------------------------------------------- settings
def settings_errors(s: Any, where: str = "channels.syslog") -> List[str]:
    """Problems with the syslog channel's settings (full matches; empty when valid)."""
    if not isinstance(s, dict):
        return ["%s must be an object, got %r" % (where, s)]
    errors = ["%s: unknown setting %r" % (where, k) for k in sorted(set(s) - set(DEFAULTS) - {"host"})]
    host = s.get("host")
    if not (isinstance(host, str) and valid_host(host)):
        errors.append("%s.host must be a host name or an IP address, got %r" % (where, host))
    checks = (
        ("port", 1, 65535),
        ("enterprise_number", 1, 4294967295),
        ("spool_max_messages", 1, 1000000),
        ("spool_max_bytes", 4096, 1 << 30),
        ("connect_timeout", 1, 60),
        ("max_message_bytes", MIN_MESSAGE_BYTES, MAX_MESSAGE_BYTES),
    )
    for k, low, high in checks:
        v = s.get(k, DEFAULTS[k])
        if not (isinstance(v, int) and not isinstance(v, bool) and low <= v <= high):
            errors.append("%s.%s must be an integer %d..%d, got %r" % (where, k, low, high, v))
    if not isinstance(s.get("tls", False), bool):
        errors.append("%s.tls must be true or false, got %r" % (where, s.get("tls")))
    ca = s.get("ca_file")
    if ca is not None and not (isinstance(ca, str) and ca.startswith("/") and not re.search(r"[\x00-\x1f\x7f]", ca)):
        errors.append("%s.ca_file must be an absolute path, got %r" % (where, ca))
    if s.get("facility", "authpriv") not in FACILITIES:
        errors.append("%s.facility must be one of %s, got %r" % (where, ", ".join(FACILITIES), s.get("facility")))
    return errors


def valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_HOST_RE.fullmatch(host))


# ---------------------------------------------------------------------------- the spool
class Spool:
    """One file per message, ``<16-digit sequence>.msg``, sent oldest first. Bounded by a
    count and a byte total; when over either, the oldest are dropped and counted."""

    def __init__(self, directory: str, max_messages: int, max_bytes: int, log: Log) -> None:
        os.makedirs(directory, mode=0o750, exist_ok=True)
        self.dir = directory
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.log = log
        self.dropped = 0
        self.lock = threading.Lock()

    def pending(self) -> List[str]:
        return sorted(n for n in os.listdir(self.dir) if _SPOOL_NAME.fullmatch(n))

    def put(self, message: bytes) -> str:
        """Write ``message`` durably as the newest entry, then enforce the bounds."""
        with self.lock:
            names = self.pending()
            name = "%016d.msg" % (int(names[-1][:16]) + 1 if names else 1)
            tmp = os.path.join(self.dir, ".tmp-" + name)
            with open(tmp, "wb") as fh:
                fh.write(message)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, os.path.join(self.dir, name))
            self._fsync_dir()
            self._trim([*names, name])
        return name

    def read(self, name: str) -> Optional[bytes]:
        try:
            with open(os.path.join(self.dir, name), "rb") as fh:
                return fh.read()
        except FileNotFoundError:  # dropped by the bound meanwhile
            return None

    def remove(self, names: List[str]) -> None:
        with self.lock:
            for name in names:
                try:
                    os.unlink(os.path.join(self.dir, name))
                except FileNotFoundError:
                    pass

    def _trim(self, names: List[str]) -> None:
        sizes = [os.path.getsize(os.path.join(self.dir, n)) for n in names]
        drop = 0
        while len(names) - drop > self.max_messages or (sum(sizes[drop:]) > self.max_bytes and len(names) - drop > 1):
            drop += 1
        if not drop:
            return
        for name in names[:drop]:
            os.unlink(os.path.join(self.dir, name))
        self.dropped += drop
        self.log(
            4,
            "syslog spool %s is full (max %d messages, %d bytes): dropped the %d oldest alert(s) "
            "(%d in total); they remain in the alert log and the journal"
            % (self.dir, self.max_messages, self.max_bytes, drop, self.dropped),
        )

    def _fsync_dir(self) -> None:
        fd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ---------------------------------------------------------------------------- sending
class Forwarder:
    """Spools every alert at once (``submit``) and sends the spool from a worker thread, so
    a slow or absent collector never holds up the reading of audit records."""

    def __init__(self, settings: Dict[str, Any], spool_dir: str, log: Log) -> None:
        self.s = dict(DEFAULTS, **settings)
        self.log = log
        self.spool = Spool(spool_dir, self.s["spool_max_messages"], self.s["spool_max_bytes"], log)
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.down_since_logged = False
        self.sent = 0
        self.thread = threading.Thread(target=self._run, name="syslog", daemon=True)

    @property
    def target(self) -> str:
        return "%s:%d%s" % (self.s["host"], self.s["port"], " (TLS)" if self.s["tls"] else "")

    def start(self) -> None:
        self.wake.set()  # a spool left by the last run is sent first
        self.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        self.wake.set()
        if self.thread.is_alive():
            self.thread.join(timeout)

    def submit(self, alert: Dict[str, Any]) -> None:
        s = self.s
        self.spool.put(
            format_message(alert, s["facility"], s["enterprise_number"], os.getpid(), s["max_message_bytes"])
        )
        self.wake.set()

    def _run(self) -> None:
        backoff = 0.0
        while not self.stopping.is_set():
            if backoff:
                self.stopping.wait(backoff)
            else:
                self.wake.wait()
            self.wake.clear()
            if self.stopping.is_set():
                return
            try:
                ok = self.flush()
            except OSError as e:  # the spool itself (permissions, disk): say so, keep the thread
                self.log(3, "syslog spool %s unusable: %s" % (self.spool.dir, e))
                ok = False
            backoff = 0.0 if ok else min(max(2 * backoff, MIN_BACKOFF), MAX_BACKOFF)

    def flush(self) -> bool:
        """Send up to BATCH spooled messages in order on one connection; True when sent."""
        names = self.spool.pending()[:BATCH]
        if not names:
            return True
        try:
            with self._connect() as sock:
                for name in names:
                    data = self.spool.read(name)
                    if data is not None:
                        sock.sendall(frame(data))
                _confirm(sock)
        except (OSError, ssl.SSLError, ValueError) as e:
            if not self.down_since_logged:
                msg = "syslog collector %s unavailable (%s): alerts stay spooled, retried in order"
                self.log(4, msg % (self.target, e))
                self.down_since_logged = True
            return False
        self.spool.remove(names)
        self.sent += len(names)
        if self.down_since_logged:
            self.log(6, "syslog collector %s reachable again: spooled alerts sent" % self.target)
            self.down_since_logged = False
        if len(self.spool.pending()):
            self.wake.set()
        return True

    def _connect(self) -> socket.socket:
        timeout = self.s["connect_timeout"]
        sock = socket.create_connection((self.s["host"], self.s["port"]), timeout=timeout)
        try:
            if self.s["tls"]:
                ctx = ssl.create_default_context(cafile=self.s["ca_file"])  # verifies chain and name
                ctx.minimum_version = ssl.TLSVersion.TLSv1_2
                sock = ctx.wrap_socket(sock, server_hostname=self.s["host"])
        except (OSError, ssl.SSLError):
            sock.close()
            raise
        sock.settimeout(max(SEND_TIMEOUT, timeout))
        return sock


def _confirm(sock: socket.socket) -> None:
    """Half-close and wait for the collector to close: it has then read every byte we sent.
    Anything it sends meanwhile (a TLS alert) is ignored; a reset or a timeout raises."""
    sock.shutdown(socket.SHUT_WR)
    while sock.recv(4096):
        pass
