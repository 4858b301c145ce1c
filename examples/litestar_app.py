from litestar import Litestar, delete, get
from litestar.di import NamedDependency

from authgate import AuthGate, User
from authgate.integrations.litestar import AuthgatePlugin, requires_scopes


@get("/hello")
async def hello(optional_user: NamedDependency[User | None]) -> dict[str, str]:
    return {"hello": optional_user.full_name if optional_user else "stranger"}


@get("/notes")
async def notes(current_user: NamedDependency[User]) -> dict[str, str]:
    return {"owner": current_user.username}


@delete("/notes", guards=[requires_scopes("admin")], status_code=200)
async def purge(current_user: NamedDependency[User]) -> dict[str, str]:
    return {"purgedBy": current_user.username}


def create_app(gate: AuthGate | None = None) -> Litestar:
    gate = gate or AuthGate()  # Settings.from_env()
    return Litestar([hello, notes, purge], plugins=[AuthgatePlugin(gate)])
