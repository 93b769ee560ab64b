"""What the poller knows of a camera, and what it reports of one."""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

SourceKind = Literal["snapshot", "mjpeg", "video"]


@dataclass(frozen=True)
class CameraConfig:
    """A registered camera. Its URL holds no credentials; `credential` names a login in the
    settings (`camera_credentials`, or the file `camera_credentials_file`)."""

    id: int
    location_id: int
    kind: SourceKind
    url: str
    credential: str | None
    interval_s: float
    frames_per_poll: int
    frame_gap_s: float


@dataclass(frozen=True)
class CameraStatus:
    camera_id: int
    polls: int  # polls attempted since the poller started
    last_success_at: datetime | None
    last_outcome: str | None  # the last successful poll's record: written, queued, duplicate
    last_error: str | None  # why the last failed poll failed (never a URL or credential)
    last_error_at: datetime | None
    consecutive_failures: int
    next_poll_at: datetime | None

    @classmethod
    def never_polled(cls, camera_id: int) -> "CameraStatus":
        return cls(camera_id, 0, None, None, None, None, 0, None)


class CameraStatusSource(Protocol):
    """Where the API reads a camera's status: the poller (in process, or its deployment)."""

    async def status(self, camera_id: int) -> CameraStatus | None: ...
