"""The staff health page's numbers: daily refresh outcomes per link, and what the page shows.

Counting happens when a refresh ends, in receivers of ``token_refreshed`` and
``token_refresh_failed`` (connected in ``AppConfig.ready``): one atomic
``UPDATE ... SET n = n + 1`` on the link's row for the day, created on first
use. The page then reads a handful of aggregate queries, the same number
whatever the number of connections.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, router, transaction
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


def count_refresh(link_id: int, outcome: str, day: date | None = None) -> None:
    """Add one ``outcome`` (``refreshed``, ``failed`` or ``reauth``) to the link's day."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown refresh outcome {outcome!r}")
    day = day or timezone.localdate()
    using = router.db_for_write(RefreshDay)
    rows = RefreshDay.objects.using(using).filter(link_id=link_id, day=day)
    if rows.update(**{outcome: F(outcome) + 1}):
        return
    try:
        with transaction.atomic(using=using):
            RefreshDay.objects.using(using).create(link_id=link_id, day=day, **{outcome: 1})
    except IntegrityError:  # another process created the row first: add to it
        rows.update(**{outcome: F(outcome) + 1})


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
        peak = max((bar.total for bar in self.days), default=0) or 1
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
                size = value * height / peak
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
