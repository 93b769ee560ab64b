"""Which representation the client asked for: JSON (the default), or another that `Accept`
prefers, e.g. a detection's image with the detections drawn on it (`?format=jpeg`, or an
`Accept` that prefers image/jpeg)."""

from enum import StrEnum

JSON_MEDIA_TYPE = "application/json"
JPEG_MEDIA_TYPE = "image/jpeg"


class OutputFormat(StrEnum):
    JSON = "json"
    JPEG = "jpeg"


def chosen_format(requested: OutputFormat | None, accept: str | None) -> OutputFormat:
    """`?format=` wins; otherwise JPEG only when `Accept` gives image/jpeg a higher quality
    than application/json (a tie, `*/*` or no header is JSON)."""
    if requested is not None:
        return requested
    return OutputFormat.JPEG if prefers(JPEG_MEDIA_TYPE, accept) else OutputFormat.JSON


def prefers(media_type: str, accept: str | None) -> bool:
    """Whether `Accept` gives the media type a higher quality than application/json (a tie,
    `*/*` or no header is JSON)."""
    if not accept:
        return False
    ranges = [_media_range(part) for part in accept.split(",") if part.strip()]
    return _quality(media_type, ranges) > _quality(JSON_MEDIA_TYPE, ranges)


def _media_range(part: str) -> tuple[str, float]:
    media_range, *params = (piece.strip() for piece in part.split(";"))
    quality = 1.0
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = min(max(float(value), 0.0), 1.0)
            except ValueError:
                quality = 0.0
    return media_range.lower(), quality


def _quality(media_type: str, ranges: list[tuple[str, float]]) -> float:
    """The quality of the most specific range that matches (RFC 9110, 12.5.1)."""
    kind = media_type.split("/")[0]
    for candidate in (media_type, f"{kind}/*", "*/*"):
        matches = [quality for media_range, quality in ranges if media_range == candidate]
        if matches:
            return max(matches)
    return 0.0
