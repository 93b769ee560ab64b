"""Which locations exist and what zones they have, as a replica last saw them.

Detections name their location before any work is done for them: an unknown one is refused
with 404 at once. While the database is unreachable, a location seen before keeps the zones
it had; any other is refused (`StoreUnavailableError`) rather than recorded unchecked.
"""

import time

from serve_app.core.errors import StoreUnavailableError
from serve_app.inventory.catalog import get_location
from serve_app.inventory.database import Database
from serve_app.inventory.zone_catalog import zones_for_detection
from serve_app.inventory.zones import Zone


class LocationDirectory:
    def __init__(self, database: Database, *, ttl_s: float) -> None:
        self._database = database
        self._ttl_s = ttl_s
        self._seen: dict[int, tuple[float, tuple[Zone, ...]]] = {}  # id: (when, zones)

    async def zones_at(self, location_id: int) -> tuple[Zone, ...]:
        """The location's zones (none for most); `NotFoundError` when it does not exist."""
        seen = self._seen.get(location_id)
        if seen is not None and time.monotonic() - seen[0] < self._ttl_s:
            return seen[1]
        try:
            async with self._database.session() as session:
                await get_location(session, location_id=location_id)
                zones = await zones_for_detection(session, camera_location_id=location_id)
        except StoreUnavailableError:
            if seen is None:
                raise
            return seen[1]
        except Exception:
            self._seen.pop(location_id, None)  # deleted (a zone's bin): forget it
            raise
        self._seen[location_id] = (time.monotonic(), zones)
        return zones
