"""The HTTP layer: thin ASGI adapters over the service.

``middleware`` (token → session check → user → scope, and the route groups of
``guards``), ``csrf`` and ``cookies`` (how a token travels and when its origin is checked),
``clientip``, ``bodies`` (reading a JSON body), ``responses`` (the envelope and the error
handlers), ``principal`` (the user and credentials Starlette sees), ``endpoints`` and
``recovery_endpoints`` (the auth router), ``openapi`` (its document), ``wrap`` and
``lifespan`` (authgate in any ASGI app), and ``parts`` (what this layer takes of a gate).
"""
