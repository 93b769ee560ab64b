"""serve_app.api.negotiation: JSON unless ?format=jpeg or Accept prefers image/jpeg."""

import pytest

from serve_app.api.negotiation import OutputFormat, chosen_format

JSON, JPEG = OutputFormat.JSON, OutputFormat.JPEG


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/json", JSON),
        ("image/jpeg", JPEG),
        ("image/*", JPEG),
        ("image/jpeg, application/json", JSON),  # a tie: JSON stays the default
        ("application/json;q=0.5, image/jpeg", JPEG),
        ("image/jpeg;q=0.4, */*;q=0.5", JSON),
        ("image/*;q=0.9, image/jpeg;q=0", JSON),  # the most specific range decides
        ("IMAGE/JPEG; Q=1", JPEG),
        ("image/jpeg;q=oops", JSON),
        ("text/html", JSON),
    ],
)
def test_accept_header(accept: str | None, expected: OutputFormat) -> None:
    assert chosen_format(None, accept) is expected


def test_the_query_parameter_wins() -> None:
    assert chosen_format(JPEG, "application/json") is JPEG
    assert chosen_format(JSON, "image/jpeg") is JSON
