"""An outage is one outage: the server's health as every request sees it.

After `RetryPolicy.outage_after` failed answers in a row, from any events, with none
acknowledged between, the server is taken to be down. Then one request at a time probes it, each
after a backoff that grows with the failed probes (full jitter, honouring Retry-After), while
the others wait; once one gets through, every request goes again. N retry loops do not hammer a
server that is down, and delivery resumes at full concurrency the moment it is back.

Pure: the caller passes the time.
"""

from __future__ import annotations

import math

from pulse_backfill.delivery.policy import RetryPolicy, retry_delay


class Circuit:
    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.failures = 0  # failed answers in a row
        self.failed_probes = 0
        self.probing = False  # a probe is out
        self.next_probe = 0.0
        self.down_since: float | None = None

    @property
    def down(self) -> bool:
        return self.failures >= self.policy.outage_after

    def wait(self, now: float) -> float:
        """0 when a request may go now (while the server is down: as the probe); else how
        long to wait before asking again: infinity while the probe is out (until its answer)."""
        if not self.down:
            return 0.0
        if self.probing:
            return math.inf
        if now < self.next_probe:
            return self.next_probe - now
        self.probing = True
        return 0.0

    def answered(self, now: float, *, ok: bool, probe: bool, retry_after: float | None) -> None:
        """A request's answer: `ok` unless it asks to try again later (or there was none);
        `probe` if it was let through as the probe."""
        if ok:
            self.failures = self.failed_probes = 0
            self.probing = False
            self.down_since = None
            return
        was_down = self.down
        self.failures += 1
        if probe:
            self.probing = False
            self.failed_probes += 1
            backoff = retry_delay(self.failed_probes, retry_after, self.policy)
            self.next_probe = max(self.next_probe, now + backoff)
        elif self.down and not was_down:  # it just went down: the first probe after a backoff
            self.down_since = now
            self.next_probe = now + retry_delay(1, retry_after, self.policy)
        elif self.down and retry_after is not None:  # an answer from before it went down
            self.next_probe = max(self.next_probe, now + retry_after)
