"""authgate in other frameworks: FastAPI (``authgate[fastapi]``), Litestar, Django.

Each module imports its framework, so import only the one your app uses.
"""
