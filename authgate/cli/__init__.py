"""The ``authgate`` command line: operate an authgate deployment from a shell.

Configured from the same environment as the app (``Settings.from_env()``). Every command
has ``--help``. Failures print one line on stderr and exit non-zero, never a traceback:

    0  done
    1  refused: an unknown user or session, a taken name, a configuration error
    2  bad input: a usage error or a value that breaks the input rules
    3  a service (the database or Redis) cannot be reached
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from typing import NoReturn

from authgate.cli import deploy, users
from authgate.errors import AuthgateError, ServiceUnavailable, ValidationError

EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2
EXIT_UNAVAILABLE = 3
EXIT_INTERRUPTED = 130


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line (and exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> Parser:
    """The whole command tree."""
    parser = Parser(
        prog="authgate",
        description="Operate authgate: migrate the database, manage users, roles, sessions "
        "and keys, check the configuration. Reads the same environment as the app.",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log what happens (security events too)"
    )
    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")
    deploy.register(groups)
    users.register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.ERROR,
        format="%(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        code: int = asyncio.run(args.handler(args))
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except ValidationError as error:
        return _fail(_describe(error), EXIT_BAD_INPUT)
    except ServiceUnavailable as error:
        return _fail(f"{error.message} ({_service_hint(error)})", EXIT_UNAVAILABLE)
    except AuthgateError as error:
        return _fail(error.message, EXIT_REFUSED)
    except Exception as error:  # one line for anything else too: an operator never sees a traceback
        if args.verbose:
            logging.getLogger("authgate").exception("unexpected error")
        first_line = (str(error).strip().splitlines() or [""])[0][:300]
        return _fail(f"{type(error).__name__}: {first_line}", EXIT_REFUSED)
    return code


def _fail(message: str, code: int) -> int:
    print(f"authgate: error: {message}", file=sys.stderr)
    return code


# the API's body field names, as the CLI spells them
_OPTION_NAMES = {"fullName": "--full-name", "username": "--username", "email": "--email"}


def _describe(error: ValidationError) -> str:
    if not error.errors:
        return error.message
    problems = "; ".join(
        f"{_OPTION_NAMES.get(problem.field, problem.field)} {problem.message}"
        for problem in error.errors
    )
    return f"{error.message}: {problems}"


def _service_hint(error: ServiceUnavailable) -> str:
    return "check REDIS_URL" if "session" in error.message.lower() else "check DATABASE_URL"
