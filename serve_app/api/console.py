"""The operator console: static files (plain ES modules, no build step) under /console/, and
/ that leads there. They hold no data, so they load without a key; every call they make to
the API sends the key the operator entered."""

from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.staticfiles import StaticFiles

CONSOLE_DIR = Path(__file__).resolve().parents[1] / "console"
# Only the console's own files and its own API: no inline script or style, nothing remote.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)

router = APIRouter(include_in_schema=False)
_files = StaticFiles(directory=CONSOLE_DIR, html=True)


@router.get("/")
@router.get("/console")
async def console_entry() -> RedirectResponse:
    # Relative, so that it holds under any route prefix: / and /console both lead to /console/.
    return RedirectResponse("console/", status_code=307)


@router.get("/console/{path:path}")
async def console_file(path: str, request: Request) -> Response:
    """A route, not a mount, so that requests are logged and counted under this template."""
    response = await _files.get_response(path, request.scope)
    # Revalidate (ETag) on every load, so that an upgraded service serves its new console.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
