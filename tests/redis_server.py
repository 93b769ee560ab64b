"""The machine's Redis as the tests use it: database 13, keys under a prefix of their own."""

import os
import uuid

from redis import Redis

from medinv_tools import scratch_redis

REDIS_URL = os.environ.get("MEDINV_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def redis_problem() -> str | None:
    """Why the test Redis cannot be used, or None if it answers."""
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except Exception as error:  # any failure to reach the server
        return f"Redis at {REDIS_URL} is not usable: {error}"
    finally:
        client.close()
    return None


def new_prefix(kind: str) -> str:
    return f"medinv-{kind}-{uuid.uuid4().hex[:12]}:"


def delete_keys(prefix: str) -> None:
    scratch_redis.delete_keys(REDIS_URL, prefix)
