"""Settings, read once from environment variables prefixed ZWR_."""

from functools import lru_cache

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZWR_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./zoo-registry.db"
    # A fixed-size pool: requests that use the database are admitted at most this many at a
    # time per process (below the threadpool's 40 threads), so none waits for a connection.
    # Small: the rest wait their turn in order, where more threads in flight would contend for
    # the GIL and the cores (at size L on 2 cores, 5 instead of 20 halved the reports' p99).
    db_pool_size: int = Field(default=5, ge=1, le=39)
    echo_sql: bool = False

    # Writes per API key (the `limits` notation); the store is per process unless shared.
    write_rate_limit: str = "60/minute"
    rate_limit_storage: str = "memory://"
    # Redis keys start with it: registries (or test runs) can share one Redis apart.
    rate_limit_key_prefix: str = Field(default="zwr", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # File uploads (UPLOAD_PATHS in app/core/middleware.py), from a request with a key.
    max_upload_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    # A request body must arrive whole within this many seconds (408 otherwise); it is read
    # before the request is admitted to the database, so a slow sender holds no connection.
    body_read_timeout_s: float = Field(default=10, gt=0, le=300)

    # Anonymous reads per client address, and failed authentications per client address.
    read_rate_limit: str = "600/minute"
    auth_failure_rate_limit: str = "20/minute"
    # Public submissions (POST /submissions, no key) per client address.
    submission_rate_limit: str = "5/hour"
    # Peers whose X-Forwarded-For names the client (addresses or CIDR networks).
    trusted_proxies: list[str] = Field(default_factory=list)

    # Browser origins that may write (public reads are open to any origin); "*" for any.
    cors_origins: list[str] = Field(default_factory=list)

    # Encrypts private reporter fields at rest. Unset on SQLite: a key file is generated
    # beside the database; unset on PostgreSQL: the service refuses to start.
    secret_key: SecretStr | None = None
    # When set, GET /metrics needs `Authorization: Bearer <token>`.
    metrics_token: SecretStr | None = None
    # How often the last use of API keys is written (off the request path), in seconds.
    key_use_flush_s: float = Field(default=30, gt=0)

    # Concern rules: thresholds published at GET /api/v1/concern-rules.
    concern_severe_min_severity: int = Field(default=4, ge=1, le=5)
    concern_repeated_min_count: int = Field(default=3, ge=2)
    concern_repeated_window_days: int = Field(default=365, ge=1)
    concern_inspection_max_age_days: int = Field(default=365, ge=1)
    concern_human_interaction_min_flag: int = Field(default=4, ge=1, le=5)
    concern_overcrowded_severe_ratio: float = Field(default=1.5, gt=1)
    # unmatched_trade: a trade record counts in the crossing's year or this many years after
    # (a shipment at the end of a year is often reported in the next).
    concern_trade_years_after: int = Field(default=1, ge=0, le=5)

    # Rendered concern lists kept per process, keyed by the zoo's concern_version and the date.
    concern_cache_mb: float = Field(default=64, ge=0)

    # Adds GET /bench/noop, the no-op reference the benchmark measures against.
    bench_routes: bool = False
    # The background work (stored concern flags kept fresh) in this process: `serve` turns it
    # on unless --no-worker; `zoo-registry worker` runs it alone.
    background_worker: bool = False
    worker_interval_s: float = Field(default=1.0, gt=0, le=3600)
    # After a pass that updated zoos, the wait before the next: writes arriving meanwhile are
    # taken in one update per zoo, not one each (a read still brings a zoo up to date itself).
    worker_busy_pause_s: float = Field(default=2.0, ge=0, le=3600)

    # GET /events/stream: how often an idle stream looks for new events, and how many streams
    # one client address may hold open.
    event_stream_poll_s: float = Field(default=1.0, gt=0, le=60)
    event_streams_per_client: int = Field(default=4, ge=1, le=1000)

    # Webhooks (app/webhooks/): the seconds between attempts after the first (comma-separated;
    # 5 s up to 10 h, about 27 h in all), the events in a row whose every attempt failed that
    # disable an endpoint, each attempt's time limit, and, for tests or a receiver on the
    # service's own network by choice, http URLs and private addresses.
    webhook_retry_schedule: str = "5,300,1800,7200,18000,36000,36000"
    webhook_disable_after: int = Field(default=10, ge=1, le=10_000)
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=60)
    # How long a claimed attempt is a worker's alone (at least twice the time limit): a worker
    # killed mid-attempt leaves it to be claimed again after this.
    webhook_lease_s: float = Field(default=60.0, gt=0, le=3600)
    webhook_allow_insecure: bool = False
    webhook_allow_private: bool = False

    @field_validator("webhook_retry_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        parts = [p.strip() for p in value.split(",")] if value.strip() else []
        for part in parts:
            try:
                seconds = float(part)
            except ValueError:
                raise ValueError(f"{part!r} is not a number of seconds") from None
            if not 0 <= seconds <= 7 * 86400:
                raise ValueError(f"{part} is not between 0 and a week of seconds")
        return ",".join(parts)

    @property
    def webhook_retry_delays(self) -> list[float]:
        return [float(p) for p in self.webhook_retry_schedule.split(",") if p]

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)


@lru_cache
def get_settings() -> Settings:
    """Returns the process-wide settings, read from the environment once."""
    return Settings()
