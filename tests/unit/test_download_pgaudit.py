"""A real PostgreSQL 15 with pgaudit (Debian packages), started by the test in a temp dir on a
unix socket as a non-root user; the agent follows its log and counts rows per user."""

from __future__ import annotations

import json
import os
import pathlib
import pwd
import shutil
import subprocess
import tempfile

import pytest
from test_download_agent import AGENT, PY, Lab

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


@pytest.fixture(scope="module")
def pg():
    base = pathlib.Path(tempfile.mkdtemp(prefix="dl-pg-"))
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(base, pw.pw_uid, pw.pw_gid)
    data, log = base / "data", base / "postgresql.log"
    as_pg([str(PGBIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
    conf = data / "postgresql.conf"
    # The settings the role writes to conf.d on a real server (see roles/download_alert).
    extra = (
        "listen_addresses = ''\n"
        "unix_socket_directories = '%s'\n"
        "shared_preload_libraries = 'pgaudit'\n"
        "pgaudit.log = 'read'\n"
        "pgaudit.log_rows = on\n"
        "pgaudit.log_relation = on\n"
        "pgaudit.log_parameter = off\n"
        "log_line_prefix = '%%m [%%p] %%q%%u@%%d '\n"
        "log_timezone = 'UTC'\n" % base
    )
    as_pg(["sh", "-c", "cat >> %s" % conf], input=extra)
    as_pg([str(PGBIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "start"])

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
        yield {"psql": psql, "log": log, "base": base}
    finally:
        as_pg([str(PGBIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
        shutil.rmtree(base, ignore_errors=True)


def test_select_5000_rows_alerts_with_count_5000_and_other_user_none(pg, tmp_path):
    lab = Lab(tmp_path)
    lab.cfg["datasets"] = [
        {
            "name": "citizens-db",
            "source": "pgaudit",
            "log": str(pg["log"]),
            "database": "pii",
            "tables": ["citizens"],
            "threshold": 1000,
            "window": 60,
        }
    ]
    lab.config.write_text(json.dumps(lab.cfg))
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
