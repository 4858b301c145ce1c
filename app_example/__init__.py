"""The example app: authgate's endpoints, a protected ``/api`` and a small web page."""

from app_example.app import create_app

__all__ = ["create_app"]
