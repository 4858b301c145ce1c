"""authgate in other frameworks: FastAPI (``authgate[fastapi]``), Litestar, Django.

Each of ``fastapi``, ``litestar`` and ``django`` imports its framework, so import only the
one your app uses; all three are built on ``mount``, the framework-neutral description of
authgate in a host app (the prefix, the router, the middleware, the lifespan, the error
handling, the OpenAPI parts and the principal of a scope), which imports none.
"""
