"""Hand-written stand-ins for Ray Serve deployment handles, so that ServePipeline runs without
a Ray cluster: `handle.method.remote(...)` returns an awaitable of what the method returns."""

from collections.abc import Awaitable, Callable
from typing import Any, cast

from ray.serve.handle import DeploymentHandle


class _Method:
    def __init__(self, implementation: Callable[..., Awaitable[Any]]) -> None:
        self._implementation = implementation

    def remote(self, *args: Any, **kwargs: Any) -> Awaitable[Any]:
        return self._implementation(*args, **kwargs)


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
