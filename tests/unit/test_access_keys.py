"""serve_app.access.keys: key shape, hashing, scopes."""

import pytest

from serve_app.access.keys import KeyRecord, Scope, generate_key, hash_key, key_id_of, parse_scopes


def test_a_new_key_has_its_id_inside_and_only_its_hash_is_kept() -> None:
    new = generate_key()

    assert key_id_of(new.secret) == new.key_id
    assert new.secret_hash == hash_key(new.secret) and new.secret not in new.secret_hash
    assert generate_key().secret != new.secret


@pytest.mark.parametrize(
    "presented",
    ["", "Bearer x", "mik_short_secret", "xyz_0123456789ab_secret", "mik_0123456789ab_"],
)
def test_text_without_a_keys_shape_has_no_id(presented: str) -> None:
    assert key_id_of(presented) is None


def test_a_record_matches_its_own_key_only() -> None:
    new = generate_key()
    record = KeyRecord(new.key_id, "cam", frozenset({Scope.DETECT}), new.secret_hash)

    assert record.matches(new.secret)
    assert not record.matches(new.secret + "x")


def test_scopes_are_parsed_and_unknown_ones_named() -> None:
    assert parse_scopes("detect, read") == {Scope.DETECT, Scope.READ}
    with pytest.raises(ValueError, match="'detect,write'"):
        parse_scopes("detect,write")
    with pytest.raises(ValueError, match="at least one"):
        parse_scopes(" , ")
