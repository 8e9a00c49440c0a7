"""A real PostgreSQL 15 with pgaudit (Debian packages), started by the test in a temp dir on a
unix socket as a non-root user; the agent follows its log and counts rows per user."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import pathlib
import pwd
import shutil
import subprocess
import tempfile

import pytest
from test_agent import AGENT, PY, Lab

PGBIN = pathlib.Path("/usr/lib/postgresql/15/bin")
PGAUDIT = pathlib.Path("/usr/lib/postgresql/15/lib/pgaudit.so")

pytestmark = pytest.mark.skipif(
    not (PGBIN / "initdb").exists() or not PGAUDIT.exists(),
    reason="needs postgresql-15 and postgresql-15-pgaudit (tools/apt-deps.sh installs them)",
)


def as_pg(cmd, **kw):
    """Run as the postgres system user when we are root (PostgreSQL refuses to run as root)."""
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


# The settings the role writes to conf.d on a real server (see roles/download_alert).
PGAUDIT_SETTINGS = (
    "shared_preload_libraries = 'pgaudit'\n"
    "pgaudit.log = 'read'\n"
    "pgaudit.log_rows = on\n"
    "pgaudit.log_relation = on\n"
    "pgaudit.log_parameter = off\n"
    "log_timezone = 'UTC'\n"
)


@contextlib.contextmanager
def cluster(prefix, log_settings, log_name):
    """A throw-away PostgreSQL 15 + pgaudit on a unix socket in a temp dir, with the pii data.

    ``log_settings`` (``%(base)s`` is the temp dir) choose the log format; ``log_name`` is the
    file the agent follows, relative to the temp dir.
    """
    base = pathlib.Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(base, pw.pw_uid, pw.pw_gid)
    data = base / "data"
    as_pg([str(PGBIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
    extra = "listen_addresses = ''\nunix_socket_directories = '%s'\n" % base
    extra += PGAUDIT_SETTINGS + log_settings % {"base": base}
    as_pg(["sh", "-c", "cat >> %s" % (data / "postgresql.conf")], input=extra)
    as_pg([str(PGBIN / "pg_ctl"), "-D", str(data), "-l", str(base / "startup.log"), "-w", "start"])

    def psql(sql, user="postgres", db="postgres"):
        return as_pg(["psql", "-h", str(base), "-U", user, "-d", db, "-v", "ON_ERROR_STOP=1", "-Atc", sql])

    psql("CREATE DATABASE pii")
    psql("CREATE ROLE clerk LOGIN; CREATE ROLE intern LOGIN")
    psql(
        "CREATE TABLE citizens (id int primary key, name text, address text);"
        "INSERT INTO citizens SELECT g, 'name ' || g, 'addr ' || g FROM generate_series(1, 5000) g;"
        "CREATE TABLE offices (id int); INSERT INTO offices SELECT generate_series(1, 3000);"
        "GRANT SELECT ON citizens, offices TO clerk, intern",
        db="pii",
    )
    try:
        yield {"psql": psql, "log": base / log_name, "base": base}
    finally:
        as_pg([str(PGBIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
        shutil.rmtree(base, ignore_errors=True)


def citizens_db(lab, log, threshold, window):
    """The agent's configuration: one pgaudit data set on pii.citizens, following ``log``."""
    lab.cfg["datasets"] = [
        {
            "name": "citizens-db",
            "source": "pgaudit",
            "log": str(log),
            "database": "pii",
            "tables": ["citizens"],
            "threshold": threshold,
            "window": window,
        }
    ]
    lab.config.write_text(json.dumps(lab.cfg))


@pytest.fixture(scope="module")
def pg():
    """PostgreSQL writing its free-text log (stderr, Debian's log_line_prefix)."""
    with cluster("dl-pg-", "log_line_prefix = '%%m [%%p] %%q%%u@%%d '\n", "startup.log") as c:
        yield c


@pytest.mark.control("6-5.agent_running", "6-5.pgaudit_active")
def test_select_5000_rows_alerts_with_count_5000_and_other_user_none(pg, tmp_path):
    lab = Lab(tmp_path)
    citizens_db(lab, pg["log"], threshold=1000, window=60)
    check = subprocess.run([PY, str(AGENT), "--config", str(lab.config), "--check-config"], capture_output=True)
    assert check.returncode == 0, check.stderr
    lab.start()
    try:
        psql = pg["psql"]
        assert psql("SELECT count(*) FROM (SELECT * FROM citizens WHERE id <= 900) s", user="intern", db="pii").stdout
        psql("SELECT id FROM offices", user="clerk", db="pii")  # not a table of the data set
        out = psql("SELECT * FROM citizens", user="clerk", db="pii").stdout
        assert len(out.splitlines()) == 5000
        lab.wait_for(lambda: lab.alert_lines(), what="pgaudit alert")
        lab.quiet()
        alerts = lab.alert_lines()
        assert [(a["user"], a["dataset"], a["count"], a["threshold"]) for a in alerts] == [
            ("clerk", "citizens-db", 5000, 1000)
        ]
        log = pg["log"].read_text()
        # the real line the agent parsed (log_rows appends the row count after the parameter field)
        assert (
            "clerk@pii LOG:  AUDIT: SESSION,1,1,READ,SELECT,TABLE,public.citizens,"
            "SELECT * FROM citizens,<not logged>,5000" in log
        )
    finally:
        lab.stop()


# ----------------------------------------------------------------------------- jsonlog (point 7)
FAKE = (
    "2026-11-30 07:00:00.000 UTC [1] intern@pii LOG:  "
    "AUDIT: SESSION,9,1,READ,SELECT,TABLE,public.citizens,x,<not logged>,900000"
)


@pytest.fixture(scope="module")
def pg_json():
    """PostgreSQL 15 writing its structured jsonlog, configured as the role configures it."""
    settings = (
        "logging_collector = on\n"
        "log_destination = 'jsonlog'\n"
        "log_directory = '%(base)s'\n"
        "log_filename = 'pg-audit.log'\n"
        "log_rotation_age = 0\n"
        "log_rotation_size = 0\n"
    )
    with cluster("dl-pgj-", settings, "pg-audit.json") as c:
        yield c


@pytest.mark.control("6-5.agent_running")
def test_jsonlog_cannot_be_forged_by_a_fake_line_or_an_open_quote(pg_json, tmp_path):
    """clerk tries both attacks on the free-text log: (1) a fake AUDIT line blaming intern for
    900,000 rows, inside a multi-line statement and a RAISE LOG; (2) a RAISE LOG opening a
    quote just before intern's real 5,000-row read, to swallow it. From the jsonlog the agent
    counts exactly intern's real read and nothing for the fakes."""
    lab = Lab(tmp_path)
    citizens_db(lab, pg_json["log"], threshold=5000, window=600)
    lab.start()
    psql = pg_json["psql"]
    try:
        # (2) an open quote, then intern's real read
        psql(
            "DO $$BEGIN RAISE LOG 'AUDIT: SESSION,1,1,READ,SELECT,TABLE,public.offices,\"open'; END$$",
            user="clerk",
            db="pii",
        )
        assert len(psql("SELECT * FROM citizens", user="intern", db="pii").stdout.splitlines()) == 5000
        # (1) fake lines blaming intern: in a multi-line statement and in a RAISE LOG
        psql("SELECT count(*) FROM offices WHERE 'x' <> E'\\n%s'" % FAKE.replace("'", "''"), user="clerk", db="pii")
        psql("DO $$BEGIN RAISE LOG E'\\n%s'; END$$" % FAKE, user="clerk", db="pii")
        psql("DO $$BEGIN RAISE LOG '%s'; END$$" % FAKE.split("LOG:  ", 1)[1], user="clerk", db="pii")
        lab.wait_for(lambda: lab.alert_lines(), what="intern's alert")
        lab.quiet(2)
    finally:
        lab.stop()
    alerts = lab.alert_lines()
    assert [(a["user"], a["dataset"], a["count"]) for a in alerts] == [("intern", "citizens-db", 5000)]
    state = json.loads((tmp_path / "state.json").read_text())
    [win] = state["windows"]
    assert win[:2] == ["citizens-db", "intern"] and sum(n for _t, n in win[5]) == 5000
    counts = state["unusable"][str(pg_json["log"])]
    assert counts["not_from_pgaudit"] == 2  # the two RAISE LOGs whose message starts with AUDIT:
    # the records really are in the log as the attacks wrote them
    text = pg_json["log"].read_text()
    assert "intern@pii LOG:  AUDIT" in text and '\\"open' in text
    docs = [json.loads(x) for x in text.splitlines()]
    real = [d for d in docs if d.get("message", "").startswith("AUDIT: ") and "context" not in d]
    fields = [(d["user"], next(csv.reader([d["message"][7:]]))) for d in real]
    assert [(u, f[9]) for u, f in fields if f[6] == "public.citizens"] == [("intern", "5000")]
