"""The schema's Alembic migrations, shipped in the package, and ``upgrade()`` to apply them.

``upgrade(database_url)`` brings any database to the newest revision: an empty one, one
migrated before, or one whose tables were made by authgate 0.1's ``create_all`` (tables but
no ``alembic_version``: it is stamped with the baseline revision first, keeping its rows).
On PostgreSQL an advisory lock makes instances that start together migrate one at a time.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from authgate.errors import MigrationFailed, ServiceUnavailable
from authgate.users.engine import create_engine

SCRIPT_LOCATION = "authgate:migrations"
BASELINE_REVISION = "0001"  # exactly the schema authgate 0.1's create_all made
# pg_advisory_xact_lock key: any constant, the same in every instance ("authgat" in ASCII)
LOCK_KEY = 0x61757468676174


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic ``Config`` for the shipped migrations, running on ``connection`` if given."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision of the shipped migrations."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None  # the package ships at least the baseline
    return head


async def upgrade(database: str | AsyncEngine, revision: str = "head") -> str | None:
    """Migrate ``database`` (a URL or an engine) to ``revision``; the revision it is then at.

    Raises:
        ServiceUnavailable: the database cannot be reached.
        MigrationFailed: it was reached but refused a migration, or its revision is unknown
            to this version of authgate (a database migrated by a newer one).
    """
    engine = create_engine(database) if isinstance(database, str) else database
    try:
        async with engine.connect() as connection:  # failing to connect is an outage
            try:
                current = await connection.run_sync(_upgrade, revision)
                await connection.commit()
            except (SQLAlchemyError, CommandError) as exc:
                if isinstance(exc, DBAPIError) and exc.connection_invalidated:
                    raise  # the connection dropped half-way: an outage too
                raise MigrationFailed(f"Migration failed: {_first_line(exc)}") from exc
        return current
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        raise ServiceUnavailable("Database unavailable") from exc
    finally:
        if isinstance(database, str):
            await engine.dispose()


def _first_line(error: Exception) -> str:
    cause = error.orig if isinstance(error, DBAPIError) else error
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0][:300]


async def current_revision(database: str | AsyncEngine) -> str | None:
    """The revision ``database`` is at (``None`` before the first migration)."""
    engine = create_engine(database) if isinstance(database, str) else database
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_revision_of)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        raise ServiceUnavailable("Database unavailable") from exc
    finally:
        if isinstance(database, str):
            await engine.dispose()


def _revision_of(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _upgrade(connection: Connection, revision: str) -> str | None:
    if connection.dialect.name == "postgresql":
        # held until the commit: a second instance waits here, then finds nothing to do
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    config = alembic_config(connection)
    tables = set(inspect(connection).get_table_names())
    if "alembic_version" not in tables and "users" in tables:
        command.stamp(config, BASELINE_REVISION)
    command.upgrade(config, revision)
    return _revision_of(connection)
