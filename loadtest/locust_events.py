"""One Locust request event per logical request, from users that do not use Locust's own HTTP
client (they talk to the service through `medinv_client`, or a WebSocket)."""

from typing import Any


def report(
    environment: Any, kind: str, name: str, elapsed_s: float, exception: BaseException | None
) -> None:
    environment.events.request.fire(
        request_type=kind,
        name=name,
        response_time=elapsed_s * 1000.0,
        response_length=0,
        exception=exception,
        context={},
    )
