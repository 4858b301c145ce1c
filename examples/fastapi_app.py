from typing import Annotated

from fastapi import Depends, FastAPI, Security

from authgate import AuthGate, User
from authgate.integrations.fastapi import current_user, install, optional_user


def create_app(gate: AuthGate | None = None) -> FastAPI:
    gate = gate or AuthGate()  # Settings.from_env()
    app = FastAPI(title="Notes")
    install(app, gate)  # /auth/..., the middleware, errors, lifespan, OpenAPI

    @app.get("/hello")
    async def hello(user: Annotated[User | None, Depends(optional_user)]) -> dict[str, str]:
        return {"hello": user.full_name if user else "stranger"}

    @app.get("/notes")
    async def notes(user: Annotated[User, Depends(current_user)]) -> dict[str, str]:
        return {"owner": user.username}

    @app.delete("/notes")
    async def purge(
        admin: Annotated[User, Security(current_user, scopes=["admin"])],
    ) -> dict[str, str]:
        return {"purgedBy": admin.username}

    return app
