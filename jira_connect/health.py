"""The staff health page's numbers: daily refresh outcomes per link, and what the page shows.

Counting happens when a refresh ends, in receivers of ``token_refreshed`` and
``token_refresh_failed`` (connected in ``AppConfig.ready``): one atomic
``UPDATE ... SET n = n + 1`` on the link's row for the day, created on first
use. The page then reads a handful of aggregate queries, the same number
whatever the number of connections.

During a bulk run (``counting_in_bulk()``, around ``refresher.refresh_due``)
the counts are added up in memory and written at most every
``BULK_FLUSH_SECONDS`` and when the run ends: every refresh of a link would
otherwise ``UPDATE`` and commit the same row, one more query and commit per
refresh, and the workers would queue on that row's lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db import DatabaseError, IntegrityError, router, transaction
from django.db.models import Count, F, QuerySet, Sum
from django.utils import timezone

from jira_connect.models import (
    ConnectionStatus,
    JiraConnection,
    JiraLink,
    RefreshDay,
)

#: Days the chart shows, today included.
DAYS = 14
#: A link is listed as failing when, over this many days (today included), its
#: refreshes failed at least as often as they succeeded.
RECENT_DAYS = 2

OUTCOMES = ("refreshed", "failed", "reauth")
#: In a bulk run, the longest the counts wait in memory before they are written.
BULK_FLUSH_SECONDS = 5.0

logger = logging.getLogger(__name__)


def count_refresh(link_id: int, outcome: str, day: date | None = None) -> None:
    """Add one ``outcome`` (``refreshed``, ``failed`` or ``reauth``) to the link's day.

    Written at once, or, during a bulk run (``counting_in_bulk``), with the run's other counts.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown refresh outcome {outcome!r}")
    day = day or timezone.localdate()
    if _tally.add(link_id, day, outcome):
        return
    _add(link_id, day, {outcome: 1})


def _add(link_id: int, day: date, counts: dict[str, int]) -> None:
    """Add ``counts`` (outcome: how many) to the link's row for ``day``, created on first use."""
    using = router.db_for_write(RefreshDay)
    rows = RefreshDay.objects.using(using).filter(link_id=link_id, day=day)
    increments = {outcome: F(outcome) + n for outcome, n in counts.items()}
    if rows.update(**increments):
        return
    try:
        with transaction.atomic(using=using):
            RefreshDay.objects.using(using).create(link_id=link_id, day=day, **counts)
    except IntegrityError:  # another process created the row first: add to it
        rows.update(**increments)


class _Tally:
    """Counts kept in memory while at least one bulk run lasts (thread-safe)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._runs = 0
        self._counts: Counter[tuple[int, date, str]] = Counter()
        self._since = 0.0

    def add(self, link_id: int, day: date, outcome: str) -> bool:
        """Keep one count; False when no bulk run is on (write it now)."""
        with self._guard:
            if not self._runs:
                return False
            self._counts[link_id, day, outcome] += 1
            due = time.monotonic() - self._since >= BULK_FLUSH_SECONDS
        if due:
            self.flush()
        return True

    def start(self) -> None:
        with self._guard:
            if not self._runs:
                self._since = time.monotonic()
            self._runs += 1

    def stop(self) -> None:
        with self._guard:
            self._runs -= 1
        self.flush()

    def flush(self) -> None:
        """Write what was counted: one ``UPDATE`` per link and day."""
        with self._guard:
            counts, self._counts = self._counts, Counter()
            self._since = time.monotonic()
        rows: dict[tuple[int, date], dict[str, int]] = defaultdict(dict)
        for (link_id, day, outcome), n in counts.items():
            rows[link_id, day][outcome] = n
        for (link_id, day), row in sorted(rows.items()):
            try:
                _add(link_id, day, row)
            except DatabaseError:
                # Only the health page's numbers are lost, never a token: the run goes on.
                logger.exception(
                    "Could not add %s to the health counts of link %s on %s", row, link_id, day
                )


_tally = _Tally()


@contextmanager
def counting_in_bulk() -> Iterator[None]:
    """Within the block, refresh outcomes are counted in memory and written together.

    At most every ``BULK_FLUSH_SECONDS`` and when the block ends, so the health page lags a bulk run by a few seconds at most,
    and a process killed mid-run loses those seconds' counts, never a token.
    """
    _tally.start()
    try:
        yield
    finally:
        _tally.stop()


def on_token_refreshed(sender: Any, connection: JiraConnection, **kwargs: Any) -> None:
    count_refresh(connection.link_id, "refreshed")


def on_token_refresh_failed(
    sender: Any, connection: JiraConnection, reauth_required: bool = False, **kwargs: Any
) -> None:
    count_refresh(connection.link_id, "reauth" if reauth_required else "failed")


@dataclass
class DayBar:
    day: date
    refreshed: int = 0
    failed: int = 0
    reauth: int = 0

    @property
    def total(self) -> int:
        return self.refreshed + self.failed + self.reauth


@dataclass
class LinkHealthRow:
    link: JiraLink
    by_status: dict[str, int] = field(default_factory=dict)
    days: list[DayBar] = field(default_factory=list)

    @property
    def connections(self) -> int:
        return sum(self.by_status.values())

    @property
    def statuses(self) -> list[tuple[str, str, int]]:
        """(value, label, count) for every status, in the model's order."""
        return [
            (value, str(label), self.by_status.get(value, 0))
            for value, label in ConnectionStatus.choices
        ]

    @property
    def recent(self) -> DayBar:
        recent = DayBar(self.days[-1].day if self.days else timezone.localdate())
        for bar in self.days[-RECENT_DAYS:]:
            recent.refreshed += bar.refreshed
            recent.failed += bar.failed
            recent.reauth += bar.reauth
        return recent

    @property
    def failing(self) -> bool:
        recent = self.recent
        failures = recent.failed + recent.reauth
        return failures > 0 and failures >= recent.refreshed

    @property
    def totals(self) -> DayBar:
        total = DayBar(self.days[0].day if self.days else timezone.localdate())
        for bar in self.days:
            total.refreshed += bar.refreshed
            total.failed += bar.failed
            total.reauth += bar.reauth
        return total

    def chart(self, width: int = 420, height: int = 80) -> dict[str, Any]:
        """Stacked bars for the SVG: one per day, refreshed at the bottom."""
        peak = max((bar.total for bar in self.days), default=0)
        scale = peak or 1  # no refresh at all: empty bars, and no division by zero
        slot = width / max(len(self.days), 1)
        bars = []
        for index, bar in enumerate(self.days):
            x = round(index * slot + 1, 1)
            y = float(height)
            parts = []
            for outcome in OUTCOMES:
                value = getattr(bar, outcome)
                if not value:
                    continue
                size = value * height / scale
                y -= size
                parts.append({"outcome": outcome, "y": round(y, 1), "height": round(size, 1)})
            bars.append({"x": x, "width": round(slot - 2, 1), "parts": parts, "bar": bar})
        return {"width": width, "height": height, "peak": peak, "bars": bars}


def link_health(links: QuerySet[JiraLink], today: date | None = None) -> list[LinkHealthRow]:
    """One row per link in ``links``, in three queries whatever the number of connections."""
    today = today or timezone.localdate()
    first = today - timedelta(days=DAYS - 1)
    rows = {link.pk: LinkHealthRow(link) for link in links.select_related("last_test")}
    ids = list(rows)
    counts = (
        JiraConnection.objects.using(links.db)
        .filter(link_id__in=ids)
        .order_by()
        .values("link_id", "status")
        .annotate(n=Count("pk"))
    )
    for item in counts:
        rows[item["link_id"]].by_status[item["status"]] = item["n"]
    days: dict[int, dict[date, DayBar]] = defaultdict(dict)
    stored = (
        RefreshDay.objects.using(links.db)
        .filter(link_id__in=ids, day__gte=first, day__lte=today)
        .values("link_id", "day")
        .annotate(r=Sum("refreshed"), f=Sum("failed"), a=Sum("reauth"))
    )
    for bar in stored:
        days[bar["link_id"]][bar["day"]] = DayBar(bar["day"], bar["r"], bar["f"], bar["a"])
    for pk, row in rows.items():
        row.days = [
            days[pk].get(first + timedelta(days=n), DayBar(first + timedelta(days=n)))
            for n in range(DAYS)
        ]
    return list(rows.values())
