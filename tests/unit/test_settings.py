"""serve_app.core.settings: the list settings read from the environment, comma-separated."""

import pytest
from pydantic import ValidationError

from serve_app.core.settings import Settings


def test_allowed_origins_are_comma_separated_and_normalized(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "MEDINV_WS_ALLOWED_ORIGINS", "https://Console.example.com/, http://ward:3000"
    )
    assert Settings().ws_allowed_origins == ["https://console.example.com", "http://ward:3000"]


def test_nothing_is_allowed_beyond_the_defaults_unless_configured() -> None:
    assert Settings().ws_allowed_origins == []


@pytest.mark.parametrize(
    "value",
    ["console.example.com", "ftp://console.example.com", "https://console.example.com/app",
     "https://console.example.com:port", "https://user@console.example.com"],
)  # fmt: skip
def test_an_allowed_origin_must_be_an_origin(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("MEDINV_WS_ALLOWED_ORIGINS", value)
    with pytest.raises(ValidationError, match="ws_allowed_origins"):
        Settings()


def test_trusted_proxies_are_comma_separated_addresses_or_networks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEDINV_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.10,fd00::/8")
    assert [str(n) for n in Settings().trusted_proxies] == [
        "10.0.0.0/8",
        "192.0.2.10/32",
        "fd00::/8",
    ]
    monkeypatch.setenv("MEDINV_TRUSTED_PROXIES", "proxy.example.com")
    with pytest.raises(ValidationError, match="trusted_proxies"):
        Settings()


def test_no_proxy_is_trusted_unless_configured() -> None:
    assert Settings().trusted_proxies == []


def test_a_webhook_lease_must_outlast_a_send(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDINV_WEBHOOK_TIMEOUT_S", "30")
    monkeypatch.setenv("MEDINV_WEBHOOK_LEASE_S", "30")
    with pytest.raises(ValidationError, match="webhook_lease_s"):
        Settings()
    monkeypatch.setenv("MEDINV_WEBHOOK_LEASE_S", "31")
    assert Settings().webhook_lease_s == 31


def test_sentinels_are_comma_separated_host_port_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDINV_REDIS_SENTINELS", "redis-0.redis:26379, [fd00::1]:26380,10.0.0.3:1")
    settings = Settings()
    assert settings.redis_configured and settings.redis_sentinel_master == "medinv"
    assert settings.sentinel_addresses == [
        ("redis-0.redis", 26379),
        ("fd00::1", 26380),
        ("10.0.0.3", 1),
    ]


@pytest.mark.parametrize("value", ["redis-0", "redis-0:", ":26379", "redis-0:port", "h:70000"])
def test_a_sentinel_must_be_host_and_port(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("MEDINV_REDIS_SENTINELS", value)
    with pytest.raises(ValidationError, match="is not host:port"):
        Settings()


def test_sentinels_replace_the_redis_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDINV_REDIS_SENTINELS", "redis-sentinel:26379")
    monkeypatch.setenv("MEDINV_REDIS_URL", "redis://redis:6379/0")
    with pytest.raises(ValidationError, match="not both"):
        Settings()


def test_a_sentinel_password_needs_sentinels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDINV_REDIS_URL", "redis://redis:6379/0")
    monkeypatch.setenv("MEDINV_REDIS_SENTINEL_PASSWORD", "secret")
    with pytest.raises(ValidationError, match="redis_sentinel_password needs redis_sentinels"):
        Settings()


def test_the_spool_may_be_in_a_sentinel_managed_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDINV_SPOOL_STORE", "redis")
    with pytest.raises(ValidationError, match="needs redis_url or redis_sentinels"):
        Settings()
    monkeypatch.setenv("MEDINV_REDIS_SENTINELS", "redis-sentinel:26379")
    monkeypatch.setenv("MEDINV_SPOOL_MIN_REPLICAS", "1")
    assert Settings().spool_min_replicas == 1


def test_spool_replicas_need_the_spool_in_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDINV_SPOOL_MIN_REPLICAS", "1")
    with pytest.raises(ValidationError, match="spool_min_replicas needs spool_store 'redis'"):
        Settings()
