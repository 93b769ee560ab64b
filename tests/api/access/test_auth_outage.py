"""API keys through a database outage: the keys a replica saw keep working for a bounded
window, keys it never saw get 503, and the window ends it.

The app reaches PostgreSQL through a TCP proxy the test cuts (the shared server is never
stopped); the key cache lives for 0.2 s, so lookups soon need the database.
"""

import time

from sqlalchemy.engine import make_url

from medinv_tools.tcp_proxy import TcpProxy
from serve_app.core.settings import Settings
from tests.api.access.conftest import ApiFactory
from tests.assertions import assert_error
from tests.factories import shelf_jpeg
from tests.keys import bearer, create_api_key

JPEG = {"Content-Type": "image/jpeg"}
CACHE_TTL_S = 0.2
STALE_WINDOW_S = 2.0


def test_keys_seen_before_an_outage_work_through_it_for_a_bounded_window(
    make_client: ApiFactory, settings: Settings, postgresql_url: str, postgres_proxy: TcpProxy
) -> None:
    through_proxy = make_url(postgresql_url).set(host="127.0.0.1", port=postgres_proxy.port)
    client = make_client(
        settings.model_copy(
            update={
                "database_url": through_proxy.render_as_string(hide_password=False),
                "auth_cache_ttl_s": CACHE_TTL_S,
                "auth_stale_window_s": STALE_WINDOW_S,
                "redis_url": None,
            }
        )
    )
    seen = bearer(create_api_key(postgresql_url, "detect", name="seen"))
    unseen = bearer(create_api_key(postgresql_url, "detect", name="unseen"))
    image = shelf_jpeg(160, 120)

    def detect(headers: dict[str, str]) -> int:
        return client.post("/v1/detect", content=image, headers={**JPEG, **headers}).status_code

    assert detect(seen) == 200
    postgres_proxy.cut()
    time.sleep(CACHE_TTL_S * 2)  # the cached lookup is gone: the database is needed again
    during = [detect(seen) for _ in range(3)]
    refused = client.post("/v1/detect", content=image, headers={**JPEG, **unseen})
    time.sleep(STALE_WINDOW_S)
    after_window = detect(seen)
    postgres_proxy.restore()
    time.sleep(CACHE_TTL_S * 2)
    restored = detect(seen)

    assert during == [200, 200, 200]
    assert refused.status_code == 503
    assert_error(refused.json(), "store_unavailable")
    assert after_window == 503
    assert restored == 200
