"""RunContext: which night is being processed, by which run, over which time window.

Every stage function takes one, whether Airflow, `pulse run` or a test calls it, so stages hold no
global state and can run on any worker (design.md: "Scaling past one machine").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from common.config import Settings


@dataclass(frozen=True)
class RunContext:
    settings: Settings
    night: date
    run_id: str
    window_start: datetime
    window_end: datetime

    @classmethod
    def for_night(
        cls,
        settings: Settings,
        night: date,
        run_id: str | None = None,
        window_start: datetime | None = None,
    ) -> RunContext:
        """The window ends at the start of the day after ``night`` (UTC).

        It starts ``backfill_days`` earlier unless a caller (the watermark logic) passes an explicit
        start. A re-run of the same night gets the same window, hence the same documents.
        """
        end = datetime.combine(night + timedelta(days=1), time(0), tzinfo=UTC)
        start = window_start or end - timedelta(days=settings.backfill_days)
        rid = run_id or f"manual__{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}"
        return cls(settings=settings, night=night, run_id=rid, window_start=start, window_end=end)

    @property
    def work_dir(self):
        return self.settings.work_dir(self.night)

    def in_window(self, ts: datetime) -> bool:
        return self.window_start <= ts < self.window_end
