"""Load shapes as stages: how many users run until which second (pure, no Locust)."""

from dataclasses import dataclass

SHAPES = ("step", "spike", "soak")


@dataclass(frozen=True)
class Stage:
    until_s: float
    users: int


def stages(
    shape: str,
    users: int,
    duration_s: float,
    *,
    steps: int = 1,
    tail_users: int = 0,
    tail_s: float = 0.0,
) -> list[Stage]:
    """The stages of a shape; a tail of `tail_users` for `tail_s` follows any of them.

    - step:  a staircase of `steps` equal steps up to `users` over `duration_s` (one step by
      default: the load jumps from 0 to `users` at once, what the autoscaling test needs).
    - spike: a quarter of `users` (at least 1), `users` in the middle third, a quarter again.
    - soak:  `users` for the whole duration.
    """
    if users < 1 or duration_s <= 0:
        raise ValueError("users must be >= 1 and the duration > 0")
    if shape == "step":
        if steps < 1:
            raise ValueError("steps must be >= 1")
        found = [
            Stage(duration_s * (i + 1) / steps, max(1, round(users * (i + 1) / steps)))
            for i in range(steps)
        ]
    elif shape == "spike":
        base = max(1, users // 4)
        third = duration_s / 3
        found = [Stage(third, base), Stage(2 * third, users), Stage(duration_s, base)]
    elif shape == "soak":
        found = [Stage(duration_s, users)]
    else:
        raise ValueError(f"unknown shape {shape!r} (known: {', '.join(SHAPES)})")
    if tail_s > 0:
        found.append(Stage(duration_s + tail_s, tail_users))
    return found


def users_at(plan: list[Stage], elapsed_s: float) -> int | None:
    """Users wanted `elapsed_s` into the run; None once the last stage is over."""
    for stage in plan:
        if elapsed_s < stage.until_s:
            return stage.users
    return None


def load_ends_at(plan: list[Stage], tail_s: float) -> float:
    """When the main load (before the tail) stops."""
    return plan[-1].until_s - tail_s if tail_s > 0 else plan[-1].until_s
