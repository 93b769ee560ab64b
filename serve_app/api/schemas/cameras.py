"""Wire models of the cameras the snapshot poller polls, and of their status."""

from dataclasses import asdict
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from serve_app.api.schemas.inventory import PRINTABLE
from serve_app.cameras.config import CameraConfig, CameraStatus
from serve_app.inventory.camera_catalog import CameraSpec
from serve_app.inventory.models import MAX_INTEGER, Camera, CameraSourceKind

SCHEMES = {
    CameraSourceKind.SNAPSHOT: {"http", "https"},
    CameraSourceKind.MJPEG: {"http", "https"},
    CameraSourceKind.VIDEO: {"rtsp", "rtsps", "http", "https", "file"},
}


class CameraIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    location_id: int = Field(ge=1, le=MAX_INTEGER, description="where its counts are recorded")
    kind: CameraSourceKind = Field(
        description="`snapshot`: a URL answering one JPEG per GET; `mjpeg`: a multipart "
        "MJPEG stream; `video`: RTSP or another source PyAV (FFmpeg) opens"
    )
    url: str = Field(
        min_length=1,
        max_length=2000,
        pattern=PRINTABLE,
        description="without credentials: name them with `credential`",
        examples=["http://10.0.4.21/snapshot.jpg"],
    )
    credential: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        pattern=PRINTABLE,
        description="the name of a login in the settings (`camera_credentials`), not a secret",
    )
    interval_s: float = Field(default=300.0, ge=1.0, le=86_400.0, description="between polls")
    frames_per_poll: int = Field(
        default=5, ge=1, le=15, description="frames per poll, combined by their median count"
    )
    frame_gap_s: float = Field(default=1.0, ge=0.0, le=60.0, description="between those frames")
    enabled: bool = True

    @model_validator(mode="after")
    def _url_fits_the_kind(self) -> "CameraIn":
        parts = urlsplit(self.url)
        if parts.scheme not in SCHEMES[self.kind]:
            schemes = ", ".join(sorted(SCHEMES[self.kind]))
            raise ValueError(f"a {self.kind.value} camera's URL is one of {schemes}")
        if parts.username is not None or parts.password is not None:
            raise ValueError(
                "a URL must hold no credentials: name a login of the settings in `credential`"
            )
        return self

    def spec(self) -> CameraSpec:
        return CameraSpec(
            location_id=self.location_id,
            kind=self.kind,
            url=self.url,
            credential=self.credential,
            interval_s=self.interval_s,
            frames_per_poll=self.frames_per_poll,
            frame_gap_s=self.frame_gap_s,
            enabled=self.enabled,
        )


class CameraOut(BaseModel):
    id: int
    location_id: int
    kind: CameraSourceKind
    url: str
    credential: str | None = Field(description="the login's name; the login is never shown")
    interval_s: float
    frames_per_poll: int
    frame_gap_s: float
    enabled: bool
    updated_at: datetime

    @classmethod
    def of(cls, camera: Camera) -> "CameraOut":
        return cls(
            id=camera.id,
            location_id=camera.location_id,
            kind=CameraSourceKind(camera.kind),
            url=camera.url,
            credential=camera.credential,
            interval_s=camera.interval_s,
            frames_per_poll=camera.frames_per_poll,
            frame_gap_s=camera.frame_gap_s,
            enabled=camera.enabled,
            updated_at=camera.updated_at,
        )


class CamerasResponse(BaseModel):
    cameras: list[CameraOut]


class CameraStatusOut(BaseModel):
    camera_id: int
    state: Literal["pending", "ok", "failing", "disabled"] = Field(
        description="`pending`: not polled yet; `failing`: its last poll failed"
    )
    polls: int = Field(description="polls since the poller started")
    last_success_at: datetime | None
    last_outcome: str | None = Field(description="the last good poll's record outcome")
    last_error: str | None = Field(description="why the last failed poll failed")
    last_error_at: datetime | None
    consecutive_failures: int
    next_poll_at: datetime | None

    @classmethod
    def of(cls, camera: Camera, status: CameraStatus | None) -> "CameraStatusOut":
        if status is None:
            status = CameraStatus.never_polled(camera.id)
            if not camera.enabled:
                return cls.model_validate(asdict(status) | {"state": "disabled"})
        state: Literal["ok", "failing", "pending"] = "pending"
        if status.consecutive_failures:
            state = "failing"
        elif status.last_success_at is not None:
            state = "ok"
        return cls.model_validate(asdict(status) | {"state": state})


def camera_config(camera: Camera) -> CameraConfig:
    return CameraConfig(
        id=camera.id,
        location_id=camera.location_id,
        kind=CameraSourceKind(camera.kind).value,
        url=camera.url,
        credential=camera.credential,
        interval_s=camera.interval_s,
        frames_per_poll=camera.frames_per_poll,
        frame_gap_s=camera.frame_gap_s,
    )
