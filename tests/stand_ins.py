"""Hand-written stand-ins for Ray Serve deployment handles, so that ServePipeline runs without
a Ray cluster: `handle.method.remote(...)` returns a response that awaits what the method
returns and records whether it was cancelled."""

from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any, cast

from ray.serve.handle import DeploymentHandle


class StandInResponse:
    def __init__(self, call: Awaitable[Any]) -> None:
        self._call = call
        self.cancelled = False
        self.error: BaseException | None = None

    def __await__(self) -> Generator[Any, None, Any]:
        try:
            return (yield from self._call.__await__())
        except Exception as error:
            self.error = error
            raise

    def cancel(self) -> None:
        """Like Serve's: a response whose call failed re-raises that failure."""
        if self.error is not None:
            raise self.error
        self.cancelled = True
        if isinstance(self._call, Coroutine):
            self._call.close()  # a call never awaited (a chained response) stops here


class _Method:
    def __init__(self, implementation: Callable[..., Awaitable[Any]]) -> None:
        self._implementation = implementation
        self.responses: list[StandInResponse] = []

    def remote(self, *args: Any, **kwargs: Any) -> StandInResponse:
        response = StandInResponse(self._implementation(*args, **kwargs))
        self.responses.append(response)
        return response


class _StandInHandle:
    def __init__(self, methods: dict[str, Callable[..., Awaitable[Any]]]) -> None:
        for name, implementation in methods.items():
            setattr(self, name, _Method(implementation))

    def options(self, **_: Any) -> "_StandInHandle":
        return self


def stand_in_handle(**methods: Callable[..., Awaitable[Any]]) -> DeploymentHandle[Any]:
    """A DeploymentHandle look-alike with the given async methods (only `.remote()` and
    `.options()`, which ServePipeline uses)."""
    return cast(DeploymentHandle[Any], _StandInHandle(methods))
