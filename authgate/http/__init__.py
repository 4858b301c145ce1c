"""The HTTP layer: thin ASGI adapters over the service.

``middleware`` (token → session check → user → scope, and the route groups of
``guards``), ``csrf`` and ``cookies`` (how a token travels and when its origin is checked),
``clientip``, ``bodies`` (reading a JSON body), ``responses`` (the envelope and the error
handlers), ``principal`` (the user and credentials Starlette sees), ``endpoints`` and
``recovery_endpoints`` (the handlers), ``table`` (every endpoint's path, method, handler
and ``operation``, in one place), ``router`` (the auth router, built from the table),
``openapi`` (its document, from the same table), ``wrap`` and ``lifespan`` (authgate in
any ASGI app), and ``parts`` (what this layer takes of a gate).
"""
