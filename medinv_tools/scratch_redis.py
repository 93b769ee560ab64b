"""Redis keys made for one run under a prefix of its own, deleted after it, on a shared server."""

from redis import Redis


def delete_keys(redis_url: str, prefix: str) -> None:
    client = Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
