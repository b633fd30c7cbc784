from dal.backoff import pause


def test_pause_is_full_jitter_within_the_exponential_bound() -> None:
    draws = [pause(3, 0.01) for _ in range(500)]
    assert all(0 <= d <= 0.08 for d in draws)
    assert max(draws) > 0.04  # the whole range is drawn, not a fixed delay


def test_pause_never_exceeds_its_cap() -> None:
    assert all(pause(20, 0.01, 0.1) <= 0.1 for _ in range(500))
