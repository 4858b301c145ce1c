"""FastAPI's interactive docs (Swagger UI) used as a person would, in a real browser: log in
with "Try it out" and call a protected endpoint by cookie, then "Authorize" with the Bearer
token and call it again.

The app is the README's FastAPI example under uvicorn. FastAPI's ``/docs`` loads Swagger UI
from a CDN, which this machine cannot reach, so the same Swagger UI (5.x, from the
``swagger-ui-bundle-v2`` package) is served locally at ``/offline-docs`` over the same
``/openapi.json``: FastAPI's own ``get_swagger_ui_html`` with local asset URLs.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from playwright.async_api import Browser, Locator, Page, async_playwright, expect
from swagger_ui_bundle import swagger_ui_path

from authgate import AuthGate, Settings
from examples.fastapi_app import create_app
from tests.conftest import PASSWORD, unique_username
from tests.processes import free_port
from tests.test_browser import ARTIFACTS, CHROMIUM_ARGS, chromium  # noqa: F401 (fixture)


def with_offline_docs(app: FastAPI) -> FastAPI:
    """``app`` plus Swagger UI served from the installed bundle at ``/offline-docs``."""
    app.mount("/swagger", StaticFiles(directory=str(swagger_ui_path)), name="swagger")

    @app.get("/offline-docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="docs",
            swagger_js_url="/swagger/swagger-ui-bundle.js",
            swagger_css_url="/swagger/swagger-ui.css",
        )

    return app


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[str]:
    """The README's FastAPI app under uvicorn (in this event loop), with its lifespan."""
    port = free_port()
    config = uvicorn.Config(
        with_offline_docs(create_app(AuthGate(settings))),
        host="127.0.0.1",
        port=port,
        lifespan="on",
        log_level="warning",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn stopped before it served"
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:  # noqa: F811
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def try_it_out(page: Page, block_id: str, body: dict[str, Any] | None = None) -> Locator:
    """Expand an operation, "Try it out", fill the JSON body, "Execute"; its live response."""
    block = page.locator(f"#{block_id}")
    await block.locator(".opblock-summary").first.click()
    await block.locator("button.try-out__btn").click()
    if body is not None:
        await block.locator("textarea.body-param__text").fill(json.dumps(body))
    await block.locator("button.execute").click()
    response = block.locator(".live-responses-table .response").first
    await expect(response.locator(".response-col_status")).not_to_be_empty()
    return response


async def status_of(response: Locator) -> str:
    return (await response.locator(".response-col_status").inner_text()).strip()


async def body_of(response: Locator) -> dict[str, Any]:
    text = await response.locator(".response-col_description pre").first.inner_text()
    body: dict[str, Any] = json.loads(text)
    return body


async def test_the_docs_log_in_and_call_a_protected_endpoint(server: str, browser: Browser) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    try:
        await page.goto(f"{server}/offline-docs")
        await expect(page.locator("#operations-auth-login")).to_be_visible()
        username = unique_username("docs")
        registration = {
            "username": username,
            "email": f"{username}@example.com",
            "fullName": "Docs User",
            "password": PASSWORD,
        }
        registered = await try_it_out(page, "operations-auth-register", registration)
        assert await status_of(registered) == "201"
        login = {"username": username, "password": PASSWORD}
        logged_in = await try_it_out(page, "operations-auth-login", login)
        assert await status_of(logged_in) == "200"
        token = (await body_of(logged_in))["data"]["accessToken"]

        # the login's HttpOnly cookie authenticates the next call from the docs
        notes = await try_it_out(page, "operations-default-notes_notes_get")
        assert await status_of(notes) == "200"
        assert await body_of(notes) == {"owner": username}

        # without the cookie: 401, then "Authorize" with the Bearer token
        await context.clear_cookies()
        await page.locator("#operations-default-notes_notes_get button.execute").click()
        await expect(
            page.locator(
                "#operations-default-notes_notes_get .live-responses-table "
                ".response .response-col_status"
            ).first
        ).to_have_text(re.compile(r"^\s*401\s*$"))
        await page.locator(".scheme-container button.authorize").click()
        dialog = page.locator(".dialog-ux")
        bearer = dialog.locator(".auth-container", has_text="bearerAuth")
        await bearer.locator("input").fill(token)
        await bearer.locator("button.authorize").click()
        await bearer.locator("button.btn-done").click()
        await page.locator("#operations-default-notes_notes_get button.execute").click()
        await expect(
            page.locator(
                "#operations-default-notes_notes_get .live-responses-table "
                ".response .response-col_status"
            ).first
        ).to_have_text(re.compile(r"^\s*200\s*$"))
    finally:
        ARTIFACTS.joinpath("browser").mkdir(parents=True, exist_ok=True)
        await page.locator("#operations-default-notes_notes_get").scroll_into_view_if_needed()
        await page.screenshot(path=ARTIFACTS / "browser" / "fastapi-docs.png")
        await context.close()
