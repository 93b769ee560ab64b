"""serve_app.api.origin_check: which browser Origins may open a WebSocket with auth off."""

import pytest

from serve_app.api.origin_check import origin_allowed

LISTED = frozenset({"https://console.example.com"})


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000"),  # the service's own page (/docs)
        ("https://medinv.example.com", "medinv.example.com"),  # its default port, both ways
        ("https://medinv.example.com", "medinv.example.com:443"),
        ("http://Medinv.Example.com:8080", "medinv.example.com:8080"),
        ("http://localhost:5173", "medinv.example.com"),  # loopback pages
        ("http://app.localhost:3000", "127.0.0.1:8000"),
        ("http://127.0.0.2", None),
        ("http://[::1]:8080", "10.0.0.7:8000"),
        ("https://console.example.com", "medinv.example.com"),  # listed
        ("https://console.example.com/", None),
    ],
)
def test_allowed(origin: str, host: str | None) -> None:
    assert origin_allowed(origin, host, LISTED)


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("https://evil.example", "127.0.0.1:8000"),
        ("https://evil.example", None),
        ("http://medinv.example.com:8001", "medinv.example.com:8000"),  # another port
        ("http://medinv.example.com", "medinv.example.com:443"),  # http's port is 80
        ("https://console.example.com:8443", "medinv.example.com"),  # not what is listed
        ("null", "127.0.0.1:8000"),  # sandboxed pages and files
        ("file://", "127.0.0.1:8000"),
        ("http://127.0.0.1.evil.example", "127.0.0.1:8000"),
        ("http://localhost.evil.example", "127.0.0.1:8000"),
        ("http://medinv.example.com:99999", "medinv.example.com:99999"),
    ],
)
def test_refused(origin: str, host: str | None) -> None:
    assert not origin_allowed(origin, host, LISTED)
