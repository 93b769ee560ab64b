"""ORM models of the inventory database. The schema itself is owned by the Alembic migrations
in `migrations/versions/`; these mirror it for queries."""

from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments INTEGER PRIMARY KEY columns.
BigId = BigInteger().with_variant(Integer(), "sqlite")
# The largest value of an `Integer` column on PostgreSQL (int4): location ids and par levels.
# The API refuses larger ones with 422 rather than letting the driver overflow into a 500.
MAX_INTEGER = 2**31 - 1


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, stored as naive UTC on every backend.

    SQLite keeps no offsets, and naive UTC in PostgreSQL keeps `date_trunc` independent of the
    session time zone.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class LocationKind(StrEnum):
    SHELF = "shelf"
    CABINET = "cabinet"
    ROOM = "room"
    BIN = "bin"  # a zone of a camera's image: made with the zone, inside its camera's location


class Base(DeclarativeBase):
    pass


class Location(Base):
    __tablename__ = "locations"
    __table_args__ = (
        CheckConstraint("kind IN ('shelf', 'cabinet', 'room', 'bin')", name="ck_locations_kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), unique=True)
    camera_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # A bin's camera location; None for every other kind.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))


class Zone(Base):
    """A polygon of a camera's image, in normalised coordinates, that is one bin.

    The bin is a location of its own (`bin_id`), so its stock, history and alerts are those of
    any location. Where zones overlap, a detection counts toward the one of lowest `position`.
    """

    __tablename__ = "zones"
    __table_args__ = (Index("ix_zones_camera", "camera_location_id", "position"),)

    bin_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    camera_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    position: Mapped[int] = mapped_column(Integer)
    polygon: Mapped[str] = mapped_column(String(4000))  # JSON: [[x, y], ...]
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CameraSourceKind(StrEnum):
    SNAPSHOT = "snapshot"  # an HTTP(S) URL answering one JPEG per GET
    MJPEG = "mjpeg"  # an HTTP(S) multipart/x-mixed-replace stream of JPEGs
    VIDEO = "video"  # anything PyAV (FFmpeg) opens: rtsp://, a video file


class Camera(Base):
    """A camera the poller takes snapshots of, for its location. Its URL holds no credentials:
    `credential` names a set of them in the settings (a mounted Secret)."""

    __tablename__ = "cameras"
    __table_args__ = (
        CheckConstraint("kind IN ('snapshot', 'mjpeg', 'video')", name="ck_cameras_kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(String(2000))
    credential: Mapped[str | None] = mapped_column(String(100))
    interval_s: Mapped[float] = mapped_column(Float)
    frames_per_poll: Mapped[int] = mapped_column(Integer)
    frame_gap_s: Mapped[float] = mapped_column(Float)
    enabled: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ParLevel(Base):
    """An item's par level at one location (a bin's expected items), over the item's own."""

    __tablename__ = "par_levels"

    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    label: Mapped[str] = mapped_column(String(100), primary_key=True)
    par_level: Mapped[int] = mapped_column(Integer)


class Item(Base):
    """What a detector label means in the stock room."""

    __tablename__ = "items"

    label: Mapped[str] = mapped_column(String(100), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str | None] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(50))
    par_level: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DetectionRecord(Base):
    """One recorded detection. `(caller, idempotency_key)` is its identity: a key is unique per
    caller; `request_id` is only the trace id of the request that made it."""

    __tablename__ = "detection_records"
    __table_args__ = (
        Index("ix_detection_records_location_time", "location_id", "recorded_at"),
        UniqueConstraint("caller", "idempotency_key", name="uq_detection_records_caller_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    caller: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    request_id: Mapped[str] = mapped_column(String(255))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    model_name: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str] = mapped_column(String(100))
    image_sha256: Mapped[str] = mapped_column(String(64))
    latency_ms: Mapped[float] = mapped_column(Float)


class DetectionCount(Base):
    """One label's count in one record; a label absent from a record counted 0."""

    __tablename__ = "detection_counts"

    record_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("detection_records.id", ondelete="CASCADE"), primary_key=True
    )
    label: Mapped[str] = mapped_column(String(100), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class Stock(Base):
    """The latest count per location and label, and since when it is below par."""

    __tablename__ = "stock"

    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    label: Mapped[str] = mapped_column(String(100), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    below_par_since: Mapped[datetime | None] = mapped_column(UtcDateTime)


class DailyCount(Base):
    """Per-day aggregate of deleted raw records (retention keeps these)."""

    __tablename__ = "daily_counts"

    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    label: Mapped[str] = mapped_column(String(100), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    samples: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(BigInteger)
    min_count: Mapped[int] = mapped_column(Integer)
    max_count: Mapped[int] = mapped_column(Integer)


class ApiKey(Base):
    """An API key: its public id, a SHA-256 of the whole key (never the key), its scopes."""

    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(100))  # comma-separated
    requests_per_minute: Mapped[int | None] = mapped_column(Integer)
    frames_per_minute: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
