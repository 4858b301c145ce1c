"""``app_example.main:app``, built from the environment (``uvicorn app_example.main:app``)."""

from app_example.app import create_app

app = create_app()
