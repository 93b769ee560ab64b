"""What the routes share within one replica: pipeline, inventory, arguments, admission limits,
access controls (keys, rate limits), shared state (result cache, live updates, streams) and
the camera poller's statuses."""

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from serve_app.access.controls import AccessControls
from serve_app.api.camera_policy import CameraService
from serve_app.api.readiness import ReadinessCache
from serve_app.core.args import IngressArgs
from serve_app.core.errors import OverloadedError
from serve_app.core.metrics import ApiMetrics
from serve_app.core.pipeline import DetectionPipeline
from serve_app.inventory.recorder import InventoryRecorder
from serve_app.state.shared_state import SharedState

# /v1/ready asks the detectors at most once a second, and waits at most 2 s for them.
READY_MAX_AGE_S = 1.0
READY_TIMEOUT_S = 2.0


class AdmissionLimit:
    """Counts concurrent holders and refuses one over the limit instead of queueing it."""

    def __init__(self, limit: int, what: str) -> None:
        self.limit = limit
        self.active = 0
        self._what = what

    @contextmanager
    def hold(self) -> Iterator[None]:
        if self.active >= self.limit:
            raise OverloadedError(f"{self._what}: this replica is at its limit of {self.limit}")
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1


@dataclass
class ApiContext:
    pipeline: DetectionPipeline
    inventory: InventoryRecorder
    args: IngressArgs
    requests: AdmissionLimit
    streams: AdmissionLimit
    subscribers: AdmissionLimit
    metrics: ApiMetrics
    access: AccessControls
    state: SharedState
    readiness: ReadinessCache
    cameras: CameraService

    @classmethod
    def create(
        cls,
        pipeline: DetectionPipeline,
        inventory: InventoryRecorder,
        args: IngressArgs,
        access: AccessControls,
        state: SharedState,
        cameras: CameraService,
    ) -> "ApiContext":
        return cls(
            pipeline=pipeline,
            inventory=inventory,
            args=args,
            access=access,
            state=state,
            cameras=cameras,
            requests=AdmissionLimit(args.max_in_flight_requests, "detect requests"),
            streams=AdmissionLimit(args.stream.max_streams_per_replica, "streams"),
            subscribers=AdmissionLimit(args.max_update_subscribers, "live-update sockets"),
            metrics=ApiMetrics(),
            readiness=ReadinessCache(pipeline, READY_MAX_AGE_S, READY_TIMEOUT_S),
        )


def get_context(connection: HTTPConnection) -> ApiContext:
    context: ApiContext = connection.app.state.context
    return context


Context = Annotated[ApiContext, Depends(get_context)]


async def store_session(context: Context) -> AsyncIterator[AsyncSession]:
    async with context.inventory.database.session() as session:
        yield session


StoreSession = Annotated[AsyncSession, Depends(store_session)]
