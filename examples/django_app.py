import os

import django
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.http import HttpRequest, JsonResponse
from django.urls import path
from starlette.types import ASGIApp

from authgate import AuthGate
from authgate.integrations.django import principal_of, requires, user_of

# settings.py
settings.configure(
    SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "dev-only-not-a-secret"),
    ALLOWED_HOSTS=["localhost", "127.0.0.1", "testserver"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[
        "django.middleware.common.CommonMiddleware",
        "authgate.integrations.django.AuthgateMiddleware",  # before CsrfViewMiddleware
        "django.middleware.csrf.CsrfViewMiddleware",
    ],
)
django.setup()


# views.py
async def hello(request: HttpRequest) -> JsonResponse:
    user = user_of(request)
    return JsonResponse({"hello": user.full_name if user else "stranger"})


async def whoami(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"session": principal_of(request).session_id})  # 401 when anonymous


async def notes(request: HttpRequest) -> JsonResponse:
    if request.method == "POST":
        return JsonResponse({"saved": True, "by": principal_of(request).user.username})
    return JsonResponse({"owner": principal_of(request).user.username})


@requires("admin")
async def purge(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"purgedBy": principal_of(request).user.username})


# urls.py
urlpatterns = [
    path("hello", hello),
    path("whoami", whoami),
    path("api/notes", notes),
    path("api/purge", purge),
]


# asgi.py
def create_app(gate: AuthGate | None = None) -> ASGIApp:
    gate = gate or AuthGate()  # Settings.from_env()
    return gate.wrap(get_asgi_application(), prefix="/auth", protect=["/api"])
