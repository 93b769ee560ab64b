import pytest

from loadtest.shapes import Stage, load_ends_at, stages, users_at


def test_a_single_step_jumps_to_all_users_at_once() -> None:
    assert stages("step", 6, 60) == [Stage(60, 6)]


def test_a_staircase_climbs_in_equal_steps() -> None:
    assert stages("step", 8, 40, steps=4) == [
        Stage(10, 2),
        Stage(20, 4),
        Stage(30, 6),
        Stage(40, 8),
    ]


def test_a_spike_is_a_third_at_full_load_between_quarters() -> None:
    assert stages("spike", 40, 90) == [Stage(30, 10), Stage(60, 40), Stage(90, 10)]
    assert stages("spike", 2, 30)[0].users == 1


def test_a_soak_holds_and_a_tail_follows_any_shape() -> None:
    plan = stages("soak", 5, 100, tail_users=1, tail_s=30)
    assert plan == [Stage(100, 5), Stage(130, 1)]
    assert load_ends_at(plan, 30) == 100
    assert [users_at(plan, t) for t in (0, 99.9, 100, 129, 130)] == [5, 5, 1, 1, None]


@pytest.mark.parametrize(
    ("shape", "users", "duration", "steps"),
    [("wave", 5, 10, 1), ("step", 0, 10, 1), ("step", 5, 0, 1), ("step", 5, 10, 0)],
)
def test_bad_shapes_are_refused(shape: str, users: int, duration: float, steps: int) -> None:
    with pytest.raises(ValueError):
        stages(shape, users, duration, steps=steps)
