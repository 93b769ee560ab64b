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
