"""The API's pace for submits (10 per 10 minutes, sliding), kept by the bridge on a clock the
test moves: nothing fails for it, no slot stays idle while work waits, and the time the last
one goes is known from the start."""

from bridge.queue.submit_limit import SubmitLimit
from support import ManualClock


def _drain(limit: SubmitLimit, clock: ManualClock, count: int, answer_after: float = 0.0) -> list[float]:
    """Send `count` submits as fast as the limit lets them; the wall time each went."""
    sent: list[float] = []
    while len(sent) < count:
        wait = limit.try_take()
        if wait > 0:
            clock.advance(wait)
            continue
        sent.append(clock.wall())
        clock.advance(answer_after)
        limit.answered()
    return sent


def test_25_submits_at_10_per_600_s_go_in_three_waves():
    clock = ManualClock()
    limit = SubmitLimit(10, 600, clock)
    start = clock.wall()
    outlook = limit.outlook(25)
    assert outlook.next_at == start and outlook.last_at == start + 1200
    assert "25 waiting: the API takes 10 submits per 10 minutes; the last goes at" in outlook.note
    sent = _drain(limit, clock, 25)
    waves = [round(t - start) for t in sent]
    assert waves == [0] * 10 + [600] * 10 + [1200] * 5
    assert sent[-1] == outlook.last_at  # said from the start, and kept


def test_a_slot_counts_from_its_answer_not_from_its_sending():
    """The API counts a submit from when it took it: a slow answer moves the slot later."""
    clock = ManualClock()
    limit = SubmitLimit(2, 100, clock)
    start = clock.wall()
    sent = _drain(limit, clock, 3, answer_after=30)
    # The first answer arrived at +30, so its slot frees at +130, not at +100.
    assert [round(t - start) for t in sent] == [0, 30, 130]


def test_a_submit_under_way_holds_its_slot():
    clock = ManualClock()
    limit = SubmitLimit(1, 60, clock)
    assert limit.try_take() == 0
    assert limit.try_take() > 0  # the first has no answer yet
    limit.answered()
    assert 59 < limit.try_take() <= 60


def test_no_slot_stays_idle_while_work_waits():
    """Submits per window achieved against the limit, over an hour of steady work."""
    clock = ManualClock()
    limit = SubmitLimit(10, 600, clock)
    sent = _drain(limit, clock, 60, answer_after=0.5)
    per_window = [sum(1 for t in sent if w <= t - sent[0] < w + 600) for w in range(0, 3000, 600)]
    assert min(per_window) / 10 >= 0.95


def test_slots_taken_before_a_restart_still_count():
    clock = ManualClock()
    limit = SubmitLimit(10, 600, clock)
    limit.seed([clock.wall() - 100] * 10 + [clock.wall() - 700])  # the last is out of the window
    assert 499 < limit.try_take() <= 500
    assert limit.outlook(1).next_at == clock.wall() + 500


def test_nothing_waiting_says_nothing():
    outlook = SubmitLimit(10, 600, ManualClock()).outlook(0)
    assert outlook.note is None and outlook.next_at is None and outlook.last_at is None
