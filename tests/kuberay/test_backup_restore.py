"""The backup CronJob's and the restore Job's own scripts (taken from the manifests, run by
dash as in the postgres image) against a real PostgreSQL: a migrated inventory database with
locations, items, records, counts, stock and API keys is dumped, restored into a fresh
database, and compared table by table (rows and a checksum over every row). Retention keeps
the newest BACKUP_KEEP dumps and never deletes any after a failed run.

PostgreSQL is the machine's (127.0.0.1:5432, trust auth; MEDINV_TEST_POSTGRES_URL); every
database here is made with a unique name and dropped at the end.
"""

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from sqlalchemy.engine import make_url

from medinv_tools.kuberay import kustomize
from medinv_tools.paths import KUBERAY_DIR
from medinv_tools.scratch_database import create_database, drop_database
from serve_app.inventory.migrate import upgrade
from tests.databases import POSTGRES_SERVER_URL, TABLES

RESTORE_TEMPLATE = KUBERAY_DIR / "base" / "postgres-restore.template.yaml"
SHELL = shutil.which("dash") or "sh"


def _script(pod: dict[str, Any]) -> str:
    [container] = pod["containers"]
    assert container["command"][:2] == ["/bin/sh", "-c"]
    return str(container["command"][2])


def backup_script() -> str:
    [cronjob] = [m for m in kustomize.render(KUBERAY_DIR / "base") if m["kind"] == "CronJob"]
    return _script(cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"])


def restore_script() -> str:
    return _script(yaml.safe_load(RESTORE_TEMPLATE.read_text())["spec"]["template"]["spec"])


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def server() -> dict[str, str]:
    if not (shutil.which("pg_dump") and shutil.which("pg_restore") and shutil.which("psql")):
        pytest.skip("the PostgreSQL client programs (pg_dump, pg_restore, psql) are missing")
    url = make_url(POSTGRES_SERVER_URL)
    try:
        with psycopg.connect(_conninfo(POSTGRES_SERVER_URL), connect_timeout=3):
            pass
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL at {POSTGRES_SERVER_URL} is not usable: {error}")
    return {
        "host": url.host or "127.0.0.1",
        "port": str(url.port or 5432),
        "user": url.username or "postgres",
        "password": url.password or "",
    }


@pytest.fixture
def source(server: dict[str, str]) -> Iterator[str]:
    """A migrated inventory database holding a bit of everything."""
    url = create_database(POSTGRES_SERVER_URL, "medinv_ops_backup")
    try:
        upgrade(url)
        _fill(url)
        yield url
    finally:
        drop_database(url)


@pytest.fixture
def restored_name(server: dict[str, str]) -> Iterator[str]:
    """The name of the database a restore creates; dropped afterwards."""
    name = f"medinv_ops_restored_{uuid.uuid4().hex[:12]}"
    yield name
    drop_database(make_url(POSTGRES_SERVER_URL).set(database=name).render_as_string(False))


def _fill(url: str) -> None:
    with psycopg.connect(_conninfo(url)) as db:
        for i in range(3):
            db.execute(
                "INSERT INTO locations (kind, name, camera_id, created_at) "
                "VALUES (%s, %s, %s, now())",
                ("shelf", f"ward {i} shelf", f"cam-{i}" if i else None),
            )
        for label in ("gauze", "syringe", "glove", "mask"):
            db.execute(
                "INSERT INTO items (label, display_name, sku, unit, par_level, updated_at) "
                "VALUES (%s, %s, %s, 'box', 10, now())",
                (label, label.title(), f"SKU-{label}"),
            )
        locations = [row[0] for row in db.execute("SELECT id FROM locations ORDER BY id")]
        for n in range(40):
            location = locations[n % 3]
            [(record,)] = db.execute(
                "INSERT INTO detection_records (caller, idempotency_key, request_id, location_id,"
                " recorded_at, model_name, model_version, image_sha256, latency_ms) VALUES "
                "('key:abc', %s, %s, %s, now() - %s * interval '1 minute', 'ssdlite', '1.1.0',"
                " %s, %s) RETURNING id",
                (f"idem-{n}", f"req-{n}", location, n, f"{n:064x}", 12.5 + n),
            )
            for label, count in (("gauze", n % 7), ("glove", 3)):
                db.execute(
                    "INSERT INTO detection_counts (record_id, label, count) VALUES (%s, %s, %s)",
                    (record, label, count),
                )
        for location in locations:
            db.execute(
                "INSERT INTO stock (location_id, label, count, updated_at, below_par_since) "
                "VALUES (%s, 'gauze', 4, now(), now())",
                (location,),
            )
            db.execute(
                "INSERT INTO daily_counts (location_id, label, day, samples, total, min_count,"
                " max_count) VALUES (%s, 'gauze', current_date - 40, 12, 60, 2, 9)",
                (location,),
            )
        for key_id, scopes, revoked in (("k1", "detect", False), ("k2", "admin", True)):
            db.execute(
                "INSERT INTO api_keys (key_id, name, secret_hash, scopes, created_at, revoked_at)"
                " VALUES (%s, %s, %s, %s, now(), CASE WHEN %s THEN now() END)",
                (key_id, f"camera {key_id}", "f" * 64, scopes, revoked),
            )


def _tables(url: str) -> dict[str, tuple[int, str]]:
    """Rows and an md5 over every row (in a fixed order) of each table, alembic's included."""
    with psycopg.connect(_conninfo(url)) as db:
        names = [
            row[0]
            for row in db.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        found = {}
        for name in names:
            [(rows, digest)] = db.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))"
                f' FROM "{name}" t'
            )
            found[name] = (rows, digest)
        return found


def _secrets(directory: Path, server: dict[str, str], database: str) -> Path:
    directory.mkdir()
    for name, value in (("username", server["user"]), ("password", server["password"])):
        (directory / name).write_text(value)
    (directory / "database").write_text(database)
    return directory


def _run(script: str, server: dict[str, str], **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        "PATH": os.environ["PATH"],
        "PGHOST": server["host"],
        "PGPORT": server["port"],
        **env,
    }
    return subprocess.run(
        [SHELL, "-c", script], env=environment, capture_output=True, text=True, timeout=120
    )


def test_a_dump_restores_into_a_fresh_database_table_for_table(
    tmp_path: Path, server: dict[str, str], source: str, restored_name: str
) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    secrets = _secrets(tmp_path / "secrets", server, make_url(source).database or "")
    dumped = _run(
        backup_script(), server, BACKUP_DIR=str(backups), SECRETS_DIR=str(secrets), BACKUP_KEEP="14"
    )
    assert dumped.returncode == 0, dumped.stderr
    [dump] = list(backups.iterdir())
    assert dump.name.startswith("medinv-") and dump.name.endswith("Z.dump")

    restored = _run(
        restore_script(),
        server,
        BACKUP_DIR=str(backups),
        SECRETS_DIR=str(secrets),
        DUMP="latest",
        RESTORE_DATABASE=restored_name,
    )
    assert restored.returncode == 0, restored.stderr
    assert f"restored {dump} into {restored_name}" in restored.stdout
    assert "schema revision " in restored.stdout
    assert "detection_records 40 rows" in restored.stdout

    before = _tables(source)
    after = _tables(make_url(source).set(database=restored_name).render_as_string(False))
    assert set(before) == {*TABLES, "alembic_version"}
    assert after == before
    assert before["detection_counts"][0] == 80 and before["api_keys"][0] == 2

    # Sequences came along: the restored database takes new rows without key collisions.
    restored_url = make_url(source).set(database=restored_name).render_as_string(False)
    with psycopg.connect(_conninfo(restored_url)) as db:
        [(new_id,)] = db.execute(
            "INSERT INTO locations (kind, name, created_at) VALUES ('room', 'new', now()) "
            "RETURNING id"
        )
        assert new_id > max(
            row[0] for row in db.execute("SELECT id FROM locations WHERE name <> 'new'")
        )

    # A second restore into the same database is refused: nothing is overwritten.
    again = _run(
        restore_script(),
        server,
        BACKUP_DIR=str(backups),
        SECRETS_DIR=str(secrets),
        DUMP=dump.name,
        RESTORE_DATABASE=restored_name,
    )
    assert again.returncode == 1
    assert f"database {restored_name} exists" in again.stderr


def test_retention_keeps_the_newest_dumps_and_a_failed_run_deletes_none(
    tmp_path: Path, server: dict[str, str], source: str
) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    old = [backups / f"medinv-2026010{day}T023000Z.dump" for day in range(1, 5)]
    for path in old:
        path.write_bytes(b"an older dump")
    (backups / ".medinv-20260105T023000Z.dump.partial").write_bytes(b"half")
    (backups / "notes.txt").write_text("not a dump: never deleted")
    secrets = _secrets(tmp_path / "secrets", server, make_url(source).database or "")
    env = {"BACKUP_DIR": str(backups), "SECRETS_DIR": str(secrets), "BACKUP_KEEP": "2"}

    failing = _secrets(tmp_path / "wrong", server, f"missing_{uuid.uuid4().hex[:8]}")
    failed = _run(backup_script(), server, **{**env, "SECRETS_DIR": str(failing)})
    assert failed.returncode != 0
    assert sorted(p.name for p in backups.iterdir() if p.name.startswith("medinv-")) == [
        p.name for p in old
    ]

    done = _run(backup_script(), server, **env)
    assert done.returncode == 0, done.stderr
    kept = sorted(p.name for p in backups.iterdir())
    assert len(kept) == 3 and kept[0] == old[-1].name and kept[1].endswith("Z.dump")
    assert kept[2] == "notes.txt"
    assert "removed" in done.stdout and old[0].name in done.stdout


def test_the_restore_template_passes_every_check_of_the_kustomized_objects() -> None:
    from medinv_tools.kuberay import hardening, pod_security, secrets_check
    from medinv_tools.kuberay.core_schema import validate_core

    job = yaml.safe_load(RESTORE_TEMPLATE.read_text())
    assert validate_core(job) == []
    assert pod_security.check_manifest(job) == []
    assert hardening.check_manifest(job) == []
    assert secrets_check.check_manifest(job) == []
    # Production's NetworkPolicies admit it to PostgreSQL by the backup's label.
    labels = job["spec"]["template"]["metadata"]["labels"]
    [policy] = [
        m
        for m in kustomize.render(KUBERAY_DIR / "overlays" / "production")
        if m["kind"] == "NetworkPolicy" and m["metadata"]["name"] == "postgres"
    ]
    sources = [peer["podSelector"]["matchLabels"] for peer in policy["spec"]["ingress"][0]["from"]]
    assert {"app.kubernetes.io/name": labels["app.kubernetes.io/name"]} in sources
