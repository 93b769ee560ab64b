"""Camera logins, from the settings: never from the database, never in a log or a response.

`MEDINV_CAMERA_CREDENTIALS` holds them as JSON (`{"name": {"username": …, "password": …}}`),
or `MEDINV_CAMERA_CREDENTIALS_FILE` names a file of the same JSON (a mounted Secret), whose
entries win.
"""

import json
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

from serve_app.core.settings import CameraLogin, Settings


@dataclass(frozen=True)
class CameraCredentials:
    logins: dict[str, CameraLogin]

    @classmethod
    def load(cls, settings: Settings) -> "CameraCredentials":
        logins = dict(settings.camera_credentials)
        if settings.camera_credentials_file is not None:
            raw = json.loads(settings.camera_credentials_file.read_text())
            logins.update({name: CameraLogin.model_validate(v) for name, v in raw.items()})
        return cls(logins)

    def login(self, name: str | None) -> CameraLogin | None:
        """The named login; `KeyError` names a credential the settings do not have."""
        if name is None:
            return None
        if name not in self.logins:
            raise KeyError(f"no camera credential named {name!r} in the settings")
        return self.logins[name]


def with_login(url: str, login: CameraLogin | None) -> str:
    """The URL with the login as its user info (for RTSP, which takes it only there)."""
    if login is None:
        return url
    parts = urlsplit(url)
    userinfo = (
        f"{quote(login.username, safe='')}:{quote(login.password.get_secret_value(), safe='')}"
    )
    host = parts.hostname or ""
    netloc = f"{userinfo}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def redacted(text: str, login: CameraLogin | None) -> str:
    """The text with the login's password (raw and URL-quoted) replaced by ***."""
    if login is None:
        return text
    secret = login.password.get_secret_value()
    for form in {secret, quote(secret, safe="")}:
        if form:
            text = text.replace(form, "***")
    return text
