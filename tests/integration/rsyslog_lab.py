"""A real rsyslog collector for the syslog channel of the download alert (issue 15, point 10).

The lab image has no rsyslog. Its .deb files (and their three libraries the image lacks) are
fetched once with the host's `apt-get download` from Debian's archive into the lab cache, then
installed with dpkg in a container of the lab image (`--network none`) and committed as
localhost/pii-guard-lab-rsyslog:<digest of the base image and the package list>. Later runs
reuse the image, offline.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from rep_endpoints import IMAGE, podman, remove

PACKAGES = ("rsyslog", "rsyslog-openssl", "libestr0", "libfastjson4", "liblognorm5")
CACHE = Path(os.environ.get("PII_GUARD_LAB_CACHE", "/var/cache/pii-guard-lab")) / "debs-rsyslog"
REPO = "localhost/pii-guard-lab-rsyslog"
# Containers this module and its test create carry this prefix (`podman ps -a --filter name=`).
PREFIX = os.environ.get("PII_GUARD_SYSLOG_PREFIX", "rsl-")

# imtcp (octet-counted framing is on by default), mmpstrucdata parses the structured data into
# $!rfc5424-sd; each message becomes one JSON line of the header fields, the raw SD and the
# parsed params, so the test can compare them with what the agent sent.
RSYSLOG_CONF = """\
global(workDirectory="/lab/rsyslog-work"{tls_global})
module(load="imtcp"{tls_module})
module(load="mmpstrucdata")
input(type="imtcp" address="127.0.0.1" port="{port}")
template(name="alert" type="string" string="%$!%\\n")
action(type="mmpstrucdata")
set $!pri = $pri;
set $!hostname = $hostname;
set $!app = $app-name;
set $!procid = $procid;
set $!msgid = $msgid;
set $!timestamp = $timereported;
set $!sd = $structured-data;
set $!msg = $msg;
set $!raw = $rawmsg;
action(type="omfile" file="/lab/out/received.jsonl" template="alert")
"""


# TLS (rsyslog-openssl): the server's certificate is /lab/tls/cert.pem (self-signed, also the
# agent's CA file); clients are not authenticated (anon), as a collector taking many hosts may.
TLS_GLOBAL = (
    ' defaultNetstreamDriver="ossl" defaultNetstreamDriverCAFile="/lab/tls/cert.pem"'
    ' defaultNetstreamDriverCertFile="/lab/tls/cert.pem" defaultNetstreamDriverKeyFile="/lab/tls/key.pem"'
)
TLS_MODULE = ' streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="anon"'


def rsyslog_conf(port: int, tls: bool = False) -> str:
    return RSYSLOG_CONF.format(port=port, tls_global=TLS_GLOBAL if tls else "", tls_module=TLS_MODULE if tls else "")


def make_cert(d: Path, names: str = "IP:127.0.0.1,DNS:localhost") -> None:
    """A self-signed certificate and key (d/cert.pem, d/key.pem) for ``names``."""
    d.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=" + names],
        check=True, capture_output=True,
    )  # fmt: skip


def image() -> str:
    base = podman("image", "inspect", "--format", "{{.Id}}", IMAGE).stdout.strip()
    digest = hashlib.sha256((base + " " + " ".join(PACKAGES)).encode()).hexdigest()[:16]
    ref = f"{REPO}:{digest}"
    if podman("image", "exists", ref, check=False).returncode == 0:
        return ref
    debs = _debs()
    name = PREFIX + "build"
    remove(name)
    try:
        podman(
            "run", "--name", name, "--network", "none", "-v", f"{CACHE}:/debs:ro", IMAGE,
            "sh", "-c", "dpkg -i " + " ".join("/debs/" + d.name for d in debs) + " && apt-get clean",
        )  # fmt: skip
        podman("commit", "-q", name, ref)
    finally:
        remove(name)
    return ref


def _debs() -> list[Path]:
    """The cached .deb of every package, downloaded once (the only network use)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    missing = [p for p in PACKAGES if not list(CACHE.glob(f"{p}_*.deb"))]
    if missing:
        subprocess.run(["apt-get", "download", *missing], cwd=CACHE, check=True, capture_output=True)
    return [sorted(CACHE.glob(f"{p}_*.deb"))[-1] for p in PACKAGES]
