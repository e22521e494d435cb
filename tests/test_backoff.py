from bridge.remote.backoff import Backoff
from bridge.remote.client import RemoteError


def _err(status, retry_after=None):
    return RemoteError(status=status, message="", retryable=True, retry_after=retry_after)


def test_retry_after_wins():
    assert Backoff().delay(1, _err(503, 42)) == 42
    assert Backoff().delay(1, _err(429, 99999)) == 3600


def test_bare_429_waits_about_a_minute():
    assert 60 <= Backoff().delay(1, _err(429), rand=lambda: 1.0) <= 75
    assert Backoff().delay(1, _err(429), rand=lambda: 0.0) == 60


def test_exponential_with_jitter_and_cap():
    b = Backoff(base=2, cap=100)
    lows = [b.delay(n, _err(500), rand=lambda: 0.0) for n in range(1, 10)]
    highs = [b.delay(n, _err(500), rand=lambda: 1.0) for n in range(1, 10)]
    assert lows[:4] == [1, 2, 4, 8] and highs[:4] == [2, 4, 8, 16]
    assert max(highs) == 100 and all(l < h for l, h in zip(lows, highs))
