"""serve_app.inventory.smoothing: what a stream records, and how often."""

from serve_app.inventory.smoothing import CountSmoother


def test_nothing_is_due_before_the_interval() -> None:
    smoother = CountSmoother(window_frames=3, interval_s=10.0, started_at=0.0)
    assert smoother.observe({"syringe": 4}, now=1.0) is None
    assert smoother.observe({"syringe": 4}, now=9.9) is None


def test_due_record_is_the_median_of_the_window() -> None:
    smoother = CountSmoother(window_frames=3, interval_s=1.0, started_at=0.0)
    smoother.observe({"syringe": 9}, now=0.1)  # pushed out of the window below
    smoother.observe({"syringe": 4, "mask": 1}, now=0.2)
    smoother.observe({"syringe": 40}, now=0.3)  # one misdetection
    assert smoother.observe({"syringe": 5, "mask": 2}, now=1.0) == {"syringe": 5, "mask": 1}


def test_at_most_one_record_per_interval() -> None:
    smoother = CountSmoother(window_frames=1, interval_s=1.0, started_at=0.0)
    due = [smoother.observe({"vial": 1}, now=t / 10) for t in range(1, 36)]
    assert [i for i, counts in enumerate(due, 1) if counts] == [10, 20, 30]


def test_labels_whose_median_is_zero_are_left_out() -> None:
    smoother = CountSmoother(window_frames=3, interval_s=0.0, started_at=0.0)
    smoother.observe({"glove_box": 1}, now=0.0)
    smoother.observe({}, now=0.0)
    assert smoother.observe({"vial": 2}, now=0.0) == {}
