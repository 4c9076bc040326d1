"""Retries with a growing wait, for jobs that talk to the outside (mail, later webhooks)."""

from __future__ import annotations

from dataclasses import dataclass

from procrastinate import BaseRetryStrategy, RetryDecision
from procrastinate.jobs import Job


@dataclass(frozen=True)
class Backoff(BaseRetryStrategy):
    """At most `attempts` runs in all; the n-th retry waits first_wait × factor^(n-1)
    seconds. Only the exceptions in `on` are retried: anything else is a bug or a
    permanent refusal, and trying it again changes nothing."""

    attempts: int
    first_wait: float
    factor: float = 4.0
    on: tuple[type[BaseException], ...] = (Exception,)

    def wait_before(self, retry: int) -> float:
        """Seconds before the `retry`-th retry (1 for the first)."""
        return float(self.first_wait * self.factor ** (retry - 1))

    def is_last(self, job: Job) -> bool:
        """Whether the run of `job` now under way is its last (job.attempts counts the
        runs before it)."""
        return job.attempts + 1 >= self.attempts

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if self.is_last(job) or not isinstance(exception, self.on):
            return None
        return RetryDecision(retry_in={"seconds": int(self.wait_before(job.attempts + 1))})
