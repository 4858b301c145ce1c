"""The shipped Alembic migrations on real PostgreSQL: an empty database, one made by
authgate 0.1's ``create_all`` (rows kept), instances migrating at the same moment, and
models and migrations agreeing."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from authgate.errors import MigrationFailed, ServiceUnavailable
from authgate.migrations import alembic_config, current_revision, head_revision, upgrade
from authgate.users.engine import create_engine
from authgate.users.store import SqlAlchemyUserStore
from authgate.users.tables import Base
from tests.conftest import DatabaseFactory
from tests.processes import closed_port

# authgate 0.1 made its schema with ``Base.metadata.create_all``: this is that table, frozen
# here so the test keeps meaning the old schema when the models move on
LEGACY = sa.MetaData()
sa.Table(
    "users",
    LEGACY,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("username", sa.String(32), unique=True, nullable=False),
    sa.Column("email", sa.String(320), unique=True, nullable=False),
    sa.Column("full_name", sa.String(100), nullable=False),
    sa.Column("avatar_url", sa.String(2048), nullable=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)


@pytest.fixture
async def empty_database_url(new_database: DatabaseFactory) -> str:
    return await new_database()


def differences(connection: Connection) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match the models."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    diff: list[Any] = compare_metadata(context, Base.metadata)
    return diff


async def inspect_database(url: str, check: Callable[[Connection], Any]) -> Any:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(check)
    finally:
        await engine.dispose()


def table_names(connection: Connection) -> set[str]:
    return set(sa.inspect(connection).get_table_names())


async def test_an_empty_database_is_brought_to_the_newest_revision(
    empty_database_url: str,
) -> None:
    assert await current_revision(empty_database_url) is None

    assert await upgrade(empty_database_url) == head_revision()

    assert await current_revision(empty_database_url) == head_revision()
    tables = await inspect_database(empty_database_url, table_names)
    assert tables == {"alembic_version", "users", "user_roles"}
    assert await upgrade(empty_database_url) == head_revision()  # again: nothing to do


async def test_models_and_migrations_agree(empty_database_url: str) -> None:
    await upgrade(empty_database_url)
    assert await inspect_database(empty_database_url, differences) == []


async def test_a_database_made_by_create_all_keeps_its_users(empty_database_url: str) -> None:
    user_id = uuid.uuid4()
    now = datetime.now(UTC)
    engine = create_engine(empty_database_url)
    async with engine.begin() as connection:
        await connection.run_sync(LEGACY.create_all)
        await connection.execute(
            LEGACY.tables["users"].insert(),
            {
                "id": user_id,
                "username": "old_timer",
                "email": "old_timer@example.com",
                "full_name": "Old Timer",
                "avatar_url": None,
                "password_hash": "$2b$04$not-a-real-hash-but-kept-as-is",
                "is_active": True,
                "created_at": now,
                "updated_at": now,
            },
        )
    await engine.dispose()
    assert await current_revision(empty_database_url) is None

    assert await upgrade(empty_database_url) == head_revision()

    assert await inspect_database(empty_database_url, differences) == []
    engine = create_engine(empty_database_url)
    try:
        store = SqlAlchemyUserStore(engine)
        user = await store.get_by_login("old_timer")
        assert user is not None
        assert (user.id, user.email, user.full_name) == (
            str(user_id),
            "old_timer@example.com",
            "Old Timer",
        )
        assert user.password_hash == "$2b$04$not-a-real-hash-but-kept-as-is"
        assert user.roles == frozenset()
        assert await store.add_role(user.id, "admin")
        again = await store.get_by_id(user.id)
        assert again is not None
        assert again.roles == {"admin"}
    finally:
        await engine.dispose()


async def test_instances_starting_together_migrate_once(new_database: DatabaseFactory) -> None:
    for url in (await new_database(), await new_database()):
        # four at once on an empty database, each on its own engine (as separate instances)
        results = await asyncio.gather(*(upgrade(url) for _ in range(4)))
        assert results == [head_revision()] * 4
        assert await inspect_database(url, differences) == []


async def test_an_unreachable_database_is_a_service_outage() -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/nothing"
    with pytest.raises(ServiceUnavailable):
        await upgrade(url)
    with pytest.raises(ServiceUnavailable):
        await current_revision(url)


def test_alembic_itself_finds_nothing_to_generate(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the way a contributor checks a model change: env.py connects by itself to DATABASE_URL
    monkeypatch.setenv("DATABASE_URL", database_url)
    command.check(alembic_config())  # raises AutogenerateDiffsDetected on any difference


async def test_a_database_from_a_newer_authgate_is_refused_not_an_outage(
    empty_database_url: str,
) -> None:
    await upgrade(empty_database_url)
    engine = create_engine(empty_database_url)
    async with engine.begin() as connection:
        await connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    await engine.dispose()
    with pytest.raises(MigrationFailed, match="9999"):
        await upgrade(empty_database_url)


@pytest.mark.processes  # uv build
def test_the_wheel_ships_the_library_not_the_example(tmp_path: Path) -> None:
    project = Path(__file__).resolve().parent.parent
    subprocess.run(
        ["uv", "build", "--wheel", "--quiet", "--out-dir", str(tmp_path)],
        cwd=project,
        check=True,
        timeout=120,
    )
    (wheel,) = tmp_path.glob("authgate-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        scripts = archive.read(entry_points).decode()
    shipped = {
        f"authgate/migrations/{path.relative_to(project / 'authgate/migrations')}"
        for path in (project / "authgate/migrations").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert {"authgate/migrations/env.py", "authgate/migrations/script.py.mako"} <= shipped
    assert "authgate/migrations/versions/0001_users.py" in shipped
    assert shipped <= names
    # every Lua script, the shared prelude with them: the scripts are read at run time
    lua_files = {path.relative_to(project).as_posix() for path in project.glob("authgate/**/*.lua")}
    assert {
        "authgate/redis/lua/prelude.lua",
        "authgate/sessions/lua/lookup.lua",
        "authgate/limits/lua/reserve_attempt.lua",
        "authgate/recovery/lua/issue_token.lua",
    } <= lua_files
    assert lua_files <= names
    # the example app runs from a checkout: it is no package of the wheel
    assert not [name for name in names if name.startswith("app_example/")]
    assert "authgate = authgate.cli:main" in scripts
