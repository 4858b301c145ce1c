"""``authgate users`` and ``authgate sessions``: accounts, roles and sessions from a shell.

Thin over ``AuthService`` and ``Accounts``: the same operations, events and cache drops
as the app. A user is named by id, username or e-mail address.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from authgate.config import Settings
from authgate.errors import ConfigError, ValidationError
from authgate.gate import AuthGate
from authgate.migrations import current_revision, head_revision
from authgate.service import SessionView
from authgate.service.validation import parse_registration, parse_role
from authgate.sessions.protocol import SessionInfo
from authgate.users.protocol import User, utc_iso

USER_HELP = "the user's id, username or e-mail address"


def register(groups: Any) -> None:
    """Add the ``users`` and ``sessions`` commands to ``groups``."""
    users = groups.add_parser("users", help="user accounts and roles", description="Users.")
    commands = users.add_subparsers(dest="command", required=True, metavar="COMMAND")

    create = commands.add_parser(
        "create",
        help="create a user (asks for the password)",
        description="Create a user. The password is asked for on the terminal, or read "
        "as one line from standard input with --password-stdin; never from the command line.",
    )
    create.add_argument("--username", required=True)
    create.add_argument("--email", required=True)
    create.add_argument("--full-name", required=True)
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    _json_flag(create).set_defaults(handler=create_user)

    listing = commands.add_parser(
        "list", help="list users by username", description="List users in username order."
    )
    listing.add_argument("--limit", type=int, default=100, help="users per page (100)")
    listing.add_argument("--after", metavar="USERNAME", help="start after this username")
    _json_flag(listing).set_defaults(handler=list_users)

    show = commands.add_parser("show", help="show one user", description="Show one user.")
    show.add_argument("user", help=USER_HELP)
    _json_flag(show).set_defaults(handler=show_user)

    for name, handler, summary in (
        ("deactivate", deactivate_user, "refuse the user's logins and end every session"),
        ("activate", activate_user, "let a deactivated user log in again"),
        ("delete", delete_user, "delete the user and end every session"),
    ):
        command = commands.add_parser(name, help=summary, description=summary.capitalize() + ".")
        command.add_argument("user", help=USER_HELP)
        command.set_defaults(handler=handler)

    for name, handler, summary in (
        ("grant", grant_roles, "give the user roles (seen at the next request)"),
        ("revoke", revoke_roles, "take roles from the user (seen at the next request)"),
    ):
        command = commands.add_parser(name, help=summary, description=summary.capitalize() + ".")
        command.add_argument("user", help=USER_HELP)
        command.add_argument("roles", nargs="+", metavar="ROLE", help="e.g. admin, billing:read")
        command.set_defaults(handler=handler)

    sessions = groups.add_parser(
        "sessions", help="a user's sessions", description="A user's sessions."
    )
    session_commands = sessions.add_subparsers(dest="command", required=True, metavar="COMMAND")
    session_list = session_commands.add_parser(
        "list", help="list a user's live sessions", description="List a user's live sessions."
    )
    session_list.add_argument("user", help=USER_HELP)
    _json_flag(session_list).set_defaults(handler=list_sessions)
    revoke = session_commands.add_parser(
        "revoke",
        help="end one session, or all of a user's",
        description="End one session of the user, or all of them with --all; their tokens "
        "stop working at once.",
    )
    revoke.add_argument("user", help=USER_HELP)
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("session", nargs="?", help="the session's id (from sessions list)")
    which.add_argument("--all", action="store_true", help="every session of the user")
    revoke.set_defaults(handler=revoke_sessions)


def _json_flag(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--json", action="store_true", help="print JSON")
    return parser


@asynccontextmanager
async def connected(*, redis: bool = True) -> AsyncIterator[AuthGate]:
    """An ``AuthGate`` from the environment, its services checked before anything changes."""
    settings = Settings.from_env()
    gate = AuthGate(settings)
    try:
        await gate.service.users.ping()
        revision, head = (
            await current_revision(gate.engine or settings.database_url),
            head_revision(),
        )
        if revision != head:
            raise ConfigError(
                f"the database schema is at revision {revision or 'none'}, not {head}: "
                "run `authgate db upgrade`"
            )
        if redis:
            await gate.service.sessions.ping()
            if settings.embedded_redis:
                print(
                    "authgate: note: REDIS_URL is not set: this command's in-process Redis "
                    "is not the app's, so the app's sessions are not touched",
                    file=sys.stderr,
                )
        yield gate
    finally:
        await gate.shutdown()


# -- users ----------------------------------------------------------------------------------


async def create_user(args: argparse.Namespace) -> int:
    password = _read_password(args.password_stdin)
    registration = parse_registration(
        {
            "username": args.username,
            "email": args.email,
            "fullName": args.full_name,
            "password": password,
        }
    )
    async with connected(redis=False) as gate:
        user = await gate.service.register(registration)
    _print_user(user, args.json)
    return 0


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise ValidationError("No password on standard input")
        return password
    if not sys.stdin.isatty():
        raise ValidationError("No terminal to ask for the password on: use --password-stdin")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != password:
        raise ValidationError("The two passwords differ")
    return password


async def list_users(args: argparse.Namespace) -> int:
    async with connected(redis=False) as gate:
        page = await gate.accounts.list_users(limit=args.limit, after=args.after)
    if args.json:
        print(json.dumps({"users": [_user_data(u) for u in page.users], "next": page.next_after}))
        return 0
    for user in page.users:
        state = "active" if user.is_active else "inactive"
        print(f"{user.id}  {user.username}  {user.email}  {state}  {_roles(user)}")
    if page.next_after is not None:
        print(f"(more: --after {page.next_after})", file=sys.stderr)
    return 0


async def show_user(args: argparse.Namespace) -> int:
    async with connected(redis=False) as gate:
        user = await gate.accounts.find(args.user)
    _print_user(user, args.json)
    return 0


async def deactivate_user(args: argparse.Namespace) -> int:
    async with connected() as gate:
        user = await gate.accounts.find(args.user)
        await gate.service.set_active(user.id, False)
    print(f"deactivated {user.username}; every session of theirs is revoked")
    return 0


async def activate_user(args: argparse.Namespace) -> int:
    async with connected() as gate:
        user = await gate.accounts.find(args.user)
        await gate.service.set_active(user.id, True)
    print(f"activated {user.username}")
    return 0


async def delete_user(args: argparse.Namespace) -> int:
    async with connected() as gate:
        user = await gate.accounts.find(args.user)
        await gate.service.delete_user(user.id)
    print(f"deleted {user.username} ({user.id}); every session of theirs is revoked")
    return 0


async def grant_roles(args: argparse.Namespace) -> int:
    roles = [parse_role(role) for role in args.roles]  # all checked before any change
    async with connected() as gate:
        user = await gate.accounts.find(args.user)
        for role in roles:
            user = await gate.accounts.grant_role(user.id, role)
    print(f"{user.username} has roles: {_roles(user)}")
    return 0


async def revoke_roles(args: argparse.Namespace) -> int:
    roles = [parse_role(role) for role in args.roles]
    async with connected() as gate:
        user = await gate.accounts.find(args.user)
        for role in roles:
            user = await gate.accounts.revoke_role(user.id, role)
    print(f"{user.username} has roles: {_roles(user)}")
    return 0


def _roles(user: User) -> str:
    return ", ".join(sorted(user.roles)) or "(no roles)"


def _user_data(user: User) -> dict[str, Any]:
    return {**user.public(), "active": user.is_active}


def _print_user(user: User, as_json: bool) -> None:
    if as_json:
        print(json.dumps(_user_data(user)))
        return
    print(f"id:        {user.id}")
    print(f"username:  {user.username}")
    print(f"email:     {user.email}")
    print(f"full name: {user.full_name}")
    print(f"active:    {'yes' if user.is_active else 'no'}")
    print(f"roles:     {_roles(user)}")
    print(f"created:   {utc_iso(user.created_at)}")


# -- sessions -------------------------------------------------------------------------------


async def list_sessions(args: argparse.Namespace) -> int:
    async with connected() as gate:
        user = await gate.accounts.find(args.user)
        sessions = await gate.accounts.sessions(user.id)
    if args.json:
        print(json.dumps([_session_data(info) for info in sessions]))
        return 0
    if not sessions:
        print(f"{user.username} has no live sessions")
    for info in sessions:
        data = _session_data(info)
        print(
            f"{info.id}  created {data['createdAt']}  last used {data['lastUsedAt']}  "
            f"{info.ip or '-'}  {info.user_agent or '-'}"
        )
    return 0


def _session_data(info: SessionInfo) -> dict[str, object]:
    data = SessionView(info, current=False).public()
    del data["current"]  # "current" means the caller's own session: the CLI has none
    return data


async def revoke_sessions(args: argparse.Namespace) -> int:
    async with connected() as gate:
        user = await gate.accounts.find(args.user)
        if args.all:
            revoked = await gate.accounts.revoke_sessions(user.id)
            print(f"revoked {revoked} session(s) of {user.username}")
        else:
            await gate.accounts.revoke_session(user.id, args.session)
            print(f"revoked session {args.session} of {user.username}")
    return 0
