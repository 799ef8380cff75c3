"""Budgets kept in Redis go under ZWR_RATE_LIMIT_KEY_PREFIX, so registries (and test runs)
sharing one Redis never count into each other's keys. Needs the Redis on 127.0.0.1:6379
(skipped without it); touches only keys of its own prefix."""

import uuid

import pytest

from app.core.errors import TooManyRequests
from app.core.ratelimit import WriteRateLimiter, sync_storage

REDIS_URL = "redis://127.0.0.1:6379"


def test_two_prefixes_on_one_redis_keep_two_budgets() -> None:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    first, second = (f"zwr-test-{uuid.uuid4().hex[:12]}" for _ in range(2))
    try:
        one = WriteRateLimiter("2/minute", sync_storage(REDIS_URL, first))
        other = WriteRateLimiter("2/minute", sync_storage(REDIS_URL, second))
        one.hit(7)
        one.hit(7)
        with pytest.raises(TooManyRequests):
            one.hit(7)
        assert other.hit(7).remaining == 1  # the same key id, another registry's budget
        assert list(client.scan_iter(match=f"{first}:*"))
        assert list(client.scan_iter(match=f"{second}:*"))
    finally:
        for prefix in (first, second):
            ours = list(client.scan_iter(match=f"{prefix}:*"))
            if ours:
                client.delete(*ours)
        client.close()
