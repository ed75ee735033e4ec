"""The shipped migrations build exactly the schema the models describe, on every database."""

from __future__ import annotations

import subprocess
import sys

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from debatebox import migrate
from debatebox.database import create_engine
from debatebox.models import Base


def test_migrated_schema_equals_models(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    try:
        assert migrate.current(engine) is None
        assert not migrate.is_current(engine)
        migrate.upgrade(engine)
        assert migrate.current(engine) == migrate.head()
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "version_table": migrate.VERSION_TABLE}
            )
            assert compare_metadata(context, Base.metadata) == []
        migrate.upgrade(engine)  # a second run has nothing to do
        assert migrate.current(engine) == migrate.head()
        assert migrate.is_current(engine)
        assert migrate.upgrade_if_needed(engine) is False
    finally:
        engine.dispose()


def test_downgrade_to_base_removes_only_debatebox_tables(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE host_table (id INTEGER PRIMARY KEY)"))
        migrate.upgrade(engine)
        migrate.downgrade(engine, "base")
        names = set(sa.inspect(engine).get_table_names())
        assert "host_table" in names
        assert not {
            name
            for name in names
            if name.startswith("debatebox_") and name != migrate.VERSION_TABLE
        }
        assert migrate.current(engine) is None
    finally:
        engine.dispose()


def test_processes_upgrading_at_once_do_not_collide(empty_db_url: str) -> None:
    script = (
        "import sys; from debatebox import migrate; from debatebox.database import create_engine;"
        "e = create_engine(sys.argv[1]); migrate.upgrade(e); print(migrate.current(e))"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, empty_db_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [proc.communicate(timeout=120) for proc in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == migrate.head()


def test_head_constant_matches_the_shipped_migrations() -> None:
    assert migrate.head() == migrate.HEAD


def test_a_current_server_never_loads_alembic(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/c.sqlite3"
    script = (
        "import sys; from debatebox.standalone import create_app;"
        "create_app({'DEBATEBOX_DATABASE_URL': sys.argv[1], 'SECRET_KEY': 'k'},"
        " instance_path=sys.argv[2]);"
        "print('alembic' in sys.modules)"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", script, url, f"{tmp_path}/instance"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout.strip()
        for _ in range(2)
    ]
    assert runs == ["True", "False"]
