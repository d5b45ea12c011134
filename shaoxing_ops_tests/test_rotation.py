"""The weekly rotation of whole-table comparisons: every table has its weekday, the nights share the rows."""

from __future__ import annotations

import datetime as dt

import pytest

from shaoxing_ops.catalog import Catalog
from shaoxing_ops.exchange import rotation
from shaoxing_ops.settings import SettingsError


def test_every_table_has_a_weekday_and_each_night_reads_about_a_seventh(catalog: Catalog) -> None:
    days = rotation.weekdays(catalog.tables)
    assert set(days) == {t.name for t in catalog.tables} and set(days.values()) == set(range(7))
    nightly = [sum(rotation.expected_rows(t) for t in catalog.tables if days[t.name] == d) for d in range(7)]
    seventh = sum(nightly) / 7
    assert max(nightly) < 1.01 * seventh and min(nightly) > 0.99 * seventh, nightly
    assert rotation.weekdays(reversed(catalog.tables)) == days  # by size and name, not by catalog order
    assert rotation.whole_table_weekday("E_PRI_PERSON") == days["E_PRI_PERSON"] == 6
    assert rotation.whole_table_weekday("NOT_IN_THE_CATALOG") in range(7)


def test_a_window_holding_the_weekday_compares_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SXOPS_FULL_RECONCILE", raising=False)
    sunday, monday = "2026-03-01", "2026-03-02"  # E_PRI_PERSON: Sundays
    assert rotation.compares_whole_table("E_PRI_PERSON", [sunday])
    assert not rotation.compares_whole_table("E_PRI_PERSON", [monday])
    week = [(dt.date(2026, 3, 2) + dt.timedelta(days=i)).isoformat() for i in range(7)]
    assert rotation.compares_whole_table("E_PRI_PERSON", week)  # a ranged run of a week or more: always
    assert not rotation.compares_whole_table("E_PRI_PERSON", week[:6])
    assert rotation.schedule_text("E_PRI_PERSON") == "全表校验和每周日核对"

    monkeypatch.setenv("SXOPS_FULL_RECONCILE", "daily")
    assert rotation.compares_whole_table("E_PRI_PERSON", [monday])
    assert rotation.schedule_text("E_PRI_PERSON") == "全表校验和每日核对"

    monkeypatch.setenv("SXOPS_FULL_RECONCILE", "monthly")
    with pytest.raises(
        SettingsError, match="SXOPS_FULL_RECONCILE='monthly' is not a schedule; use weekly or daily"
    ):
        rotation.compares_whole_table("E_PRI_PERSON", [monday])
