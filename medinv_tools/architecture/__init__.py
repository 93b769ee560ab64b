"""`make diagram`: docs/img/architecture.png, drawn from the code so it cannot go stale.

The import graph comes from grimp (what `lint-imports` reads too), aggregated to serve_app's
subpackages; the layer order from the "serve_app layers" contract in pyproject.toml. Edges that
go against the layer order (or between independent siblings of one layer) are drawn in red.
The request path of POST /v1/detect is `descriptions.REQUEST_PATH`; a test checks that every file it
names exists. grimp comes with import-linter (the dev extra), matplotlib with tools[loadtest]:
`make diagram` installs both.

    python -m medinv_tools.architecture [--out docs/img/architecture.png]
"""
