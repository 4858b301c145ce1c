"""Alembic's environment for authgate's migrations (modelled on Alembic's async template).

``authgate.migrations.upgrade()`` hands in an open connection (``config.attributes``);
the ``alembic`` command line, for writing new revisions, connects to
``sqlalchemy.url`` or else ``DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from authgate.users.tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite alters a table by copying it: Alembic's batch mode does that for us
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations(url: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(run_migrations)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("authgate's migrations run online only: use `authgate db upgrade`")
shared = config.attributes.get("connection")
if shared is not None:
    run_migrations(shared)
else:
    asyncio.run(
        run_async_migrations(config.get_main_option("sqlalchemy.url") or os.environ["DATABASE_URL"])
    )
