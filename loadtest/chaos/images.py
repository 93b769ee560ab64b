"""Images of the chaos load: the examples, in bytes of their own per request."""


def unique_jpeg(image: bytes, tag: str) -> bytes:
    """The JPEG with `tag` as a comment segment after its SOI marker: the same picture in bytes
    of its own, so that no request is answered from the result cache (which keys on the
    bytes' SHA-256), as no camera sends the same bytes twice."""
    comment = tag.encode()
    return image[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + image[2:]
