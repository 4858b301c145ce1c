"""``authgate db``, ``authgate keys`` and ``authgate config``: deployment chores."""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from authgate.config import Settings
from authgate.errors import FieldError, ValidationError
from authgate.keys import ALGORITHMS, KeyRing, generate_jwk
from authgate.migrations import current_revision, upgrade

SECRET_BYTES = 48  # 64 URL-safe characters, well over the 32 bytes production asks for
KID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")


def register(groups: Any) -> None:
    """Add the ``db``, ``keys`` and ``config`` commands to ``groups``."""
    db = groups.add_parser("db", help="the database schema", description="The database schema.")
    db_commands = db.add_subparsers(dest="command", required=True, metavar="COMMAND")
    db_commands.add_parser(
        "upgrade",
        help="migrate DATABASE_URL to the current schema",
        description="Migrate the database at DATABASE_URL to the current schema: an empty "
        "database, an older one, or one made by authgate 0.1 (its rows are kept).",
    ).set_defaults(handler=upgrade_database)

    keys = groups.add_parser("keys", help="signing keys", description="Signing keys.")
    keys_commands = keys.add_subparsers(dest="command", required=True, metavar="COMMAND")
    generate = keys_commands.add_parser(
        "generate",
        help="print a new secret, or a new EdDSA/ES256 key as a JWKS",
        description="Print a new random secret for ACCESS_TOKEN_SECRET or "
        "REFRESH_TOKEN_SECRET; with --alg, a JWKS holding one new private key for "
        "AUTHGATE_ACCESS_JWKS_FILE (merge its key into an existing ring to rotate).",
    )
    generate.add_argument("--alg", choices=sorted(ALGORITHMS), help="make an asymmetric key")
    generate.add_argument("--kid", help="the key's id (default: today's date and a suffix)")
    generate.set_defaults(handler=generate_key)

    config = groups.add_parser("config", help="the configuration", description="Configuration.")
    config_commands = config.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = config_commands.add_parser(
        "check",
        help="run the start-up checks on the current environment",
        description="Run the checks the app runs at start-up on the current environment "
        "(in production: secrets, real database and Redis, bcrypt cost) without starting it.",
    )
    check.add_argument(
        "--production", action="store_true", help="check as if AUTHGATE_ENV were production"
    )
    check.set_defaults(handler=check_config)


async def upgrade_database(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    before = await current_revision(settings.database_url)
    after = await upgrade(settings.database_url)
    if before == after:
        print(f"database already at revision {after}")
    else:
        print(f"database migrated to revision {after} (was {before or 'unversioned'})")
    return 0


async def generate_key(args: argparse.Namespace) -> int:
    if args.alg is None:
        if args.kid is not None:
            raise ValidationError("--kid needs --alg: a secret has no key id")
        print(secrets.token_urlsafe(SECRET_BYTES))
        return 0
    kid = args.kid or f"{datetime.now(UTC):%Y-%m-%d}-{secrets.token_hex(2)}"
    if not KID.fullmatch(kid):
        raise ValidationError(
            "Invalid key id", errors=[FieldError("--kid", "must be 1 to 64 of A-Z a-z 0-9 . _ : -")]
        )
    print(json.dumps({"keys": [generate_jwk(args.alg, kid)]}, indent=2))
    return 0


async def check_config(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {"env": "production"} if args.production else {}
    # the app's own start-up check (a ConfigError names the variable); an app may pass its
    # own mailer, so SMTP is not required: noted below
    settings = Settings.from_env(**overrides).checked(own_mailer=True)
    print(f"ok: the {settings.env} configuration passes the start-up checks")
    print(f"database: {_redacted(settings.database_url)}")
    print(f"redis: {_redacted(settings.redis_url) if settings.redis_url else 'embedded'}")
    signing = "HS256 (ACCESS_TOKEN_SECRET)"
    if settings.access_jwks:
        ring = KeyRing.from_jwks(settings.access_jwks, settings.access_signing_kid)
        signing = (
            f"{ring.signer.algorithm}, signing kid {ring.signer.kid}, {len(ring.keys)} in ring"
        )
    print(f"access tokens: {signing}")
    mail = "SMTP" if settings.smtp_url else "no SMTP: the app must pass AuthGate(mailer=...)"
    if not settings.smtp_url and not settings.production:
        mail = "no SMTP: mails are written to the log"
    print(f"mail: {mail}; links to {settings.public_url or 'http://127.0.0.1:8000'}")
    for name in ("ACCESS_TOKEN_SECRET", "REFRESH_TOKEN_SECRET"):
        if not settings.production and not os.environ.get(name, "").strip():
            print(f"note: {name} is not set: every process makes up its own")
    return 0


def _redacted(url: str) -> str:
    """``url`` without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparsable URL)"
