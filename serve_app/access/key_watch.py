"""An open socket's API key, checked again at the revocation interval (`auth_cache_ttl_s`): a
key revoked while its sockets are open closes them within that window, as it stops its REST
calls.

The watch only says when to close; the socket's handler runs it beside its receive loop and
cancels whichever is left (`api/first_completed.py`).
"""

import anyio

from serve_app.access.authn import Authenticator
from serve_app.core.errors import KeyRevokedError, ServiceError, StoreUnavailableError


class KeyWatch:
    def __init__(self, authenticator: Authenticator, presented: str, interval_s: float) -> None:
        self._authenticator = authenticator
        self._presented = presented
        self._interval_s = interval_s

    async def until_refused(self) -> ServiceError:
        """The error to close the socket with, once its key no longer authenticates: revoked,
        or the database unreachable for longer than the stale window (which so bounds how long
        a key revoked during an outage keeps its sockets too)."""
        while True:
            await anyio.sleep(self._interval_s)
            # A lookup cancelled halfway (the socket closed meanwhile) would strand its pooled
            # database connection: let it finish, which delays the close by one query at most.
            with anyio.CancelScope(shield=True):
                try:
                    if not await self._authenticator.still_valid(self._presented):
                        return KeyRevokedError("the API key was revoked")
                except StoreUnavailableError as error:
                    return error
