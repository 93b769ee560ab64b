"""What a camera registration may name, and where the API reads camera statuses."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from serve_app.api.schemas.cameras import CameraIn
from serve_app.cameras.config import CameraStatusSource
from serve_app.cameras.credentials import CameraCredentials
from serve_app.core.errors import InvalidParameterError
from serve_app.core.settings import Settings


@dataclass(frozen=True)
class CameraPolicy:
    """What a registration may name: logins the settings hold, files only where allowed."""

    credential_names: frozenset[str]
    allow_files: bool

    def check(self, body: CameraIn) -> None:
        if body.credential is not None and body.credential not in self.credential_names:
            raise InvalidParameterError(
                f"no camera credential named {body.credential!r} in the settings"
            )
        if urlsplit(body.url).scheme == "file" and not self.allow_files:
            raise InvalidParameterError("file:// cameras are off (camera_allow_files)")


@dataclass(frozen=True)
class CameraService:
    policy: CameraPolicy
    statuses: CameraStatusSource | None  # None: no poller runs beside this API

    @classmethod
    def of(cls, settings: Settings, statuses: CameraStatusSource | None) -> "CameraService":
        names = frozenset(CameraCredentials.load(settings).logins)
        return cls(CameraPolicy(names, settings.camera_allow_files), statuses)
