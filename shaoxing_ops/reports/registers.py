"""The registers in the deliverables: the inspection sheet compares the day's exchange with the approved catalog
applications; the reports show the security notices per host and as a list, the consultations counted, the
applications and the change requests not yet sent to the city bureau. Everything as of the period's end.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from shaoxing_ops.catalog import load_catalog
from shaoxing_ops.exchange.opsdb import now_local
from shaoxing_ops.operations import applications, consultations, notices
from shaoxing_ops.operations.feedback import unsent_change_requests
from shaoxing_ops.operations.records import OperationsRecords

from .collect import TableDay

LIVE_WITHIN = dt.timedelta(
    days=2
)  # a period ending this close to now is compared with the host's live status


def _arrived(row: TableDay) -> bool:
    """Whether the front holds any of the table's rows at the day's end (or the day's load read some)."""
    return bool(row.total_target_rows) or bool(row.rows.get("read"))


def application_check(reg: OperationsRecords, day: dt.date, rows: list[TableDay]) -> dict[str, Any]:
    """Tables loaded on ``day`` without an application approved by then, and approved tables whose loads have
    brought no rows yet (the province has not started delivering them)."""
    apps = applications.applications(reg, as_of=day)
    approved, named = applications.approved_tables(apps), applications.by_table(apps)
    unapproved, not_arriving = [], []
    for r in rows:
        if r.leg != "province" or r.status != "succeeded":
            continue
        app = approved.get(r.table)
        if app is None:
            others = named.get(r.table, [])
            reason = (
                "、".join(f"申请 #{x['id']}（{x['applied_on']} 申请）{x['status_then']}" for x in others)
                if others
                else "无编目数据申请"
            )
            unapproved.append(
                {"table": r.table, "title": r.title, "rows_read": r.rows.get("read", 0), "reason": reason}
            )
        elif not _arrived(r):
            not_arriving.append(
                {
                    "table": r.table,
                    "title": r.title,
                    "application": app["id"],
                    "status": app["status_then"],
                    "approved_on": app["approved_on"],
                }
            )
    return {
        "unapproved": unapproved,
        "not_arriving": not_arriving,
        "approved_tables": len(approved),
        "applications": len(apps),
    }


def attach_notices(
    hosts: list[dict[str, Any]], states: list[dict[str, Any]], live: bool
) -> list[dict[str, Any]]:
    """Each host entry gets the open notices naming it, what is left to install there and, where the host's own
    patch status was read now (``live``), which of those items its package manager still offers as a security
    update. Returns the open notices' hosts that have no entry (named by a notice, never sampled)."""
    by_host = notices.open_by_host(states)
    for entry in hosts:
        found = [dict(x) for x in by_host.get(entry["assessment"]["host"], [])]
        pending = set((entry.get("patches") or {}).get("security_packages") or []) if live else set()
        for x in found:
            x["pending_here"] = [i for i in x["remaining"] if i in pending]
        entry["notices"] = found
    known = {h["assessment"]["host"] for h in hosts}
    return [{"host": h, "notices": found} for h, found in sorted(by_host.items()) if h not in known]


def for_day(
    reg: OperationsRecords, day: dt.date, rows: list[TableDay], hosts: list[dict[str, Any]]
) -> dict[str, Any]:
    """The inspection sheet's part: the application check of the day, open notices per host."""
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
    states = notices.state(reg, day)
    return {
        "applications": application_check(reg, day, rows),
        "notices_open": [x for x in states if x["open"]],
        "notices_other_hosts": attach_notices(hosts, states, now_local() - end <= LIVE_WITHIN),
        "change_requests_unsent": unsent_change_requests(reg, end),
    }


def for_period(
    reg: OperationsRecords, first: dt.date, last: dt.date, hosts: list[dict[str, Any]]
) -> dict[str, Any]:
    """The weekly or monthly report's part, as of the end of ``last``."""
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time())
    notice_summary = notices.summary(reg, first, last)
    apps = applications.applications(reg, as_of=last)
    approved = applications.approved_tables(apps)
    catalog = load_catalog()
    return {
        "notices": notice_summary,
        "notices_other_hosts": attach_notices(
            hosts, notice_summary["notices"], now_local() - end <= LIVE_WITHIN
        ),
        "consultations": consultations.summary(reg, first, last),
        "applications": {
            "items": apps,
            "applied": sum(first <= x["applied_on"] <= last for x in apps),
            "approved": sum(x["approved_on"] is not None and first <= x["approved_on"] <= last for x in apps),
            "pending": sum(x["status_then"] == "申请中" for x in apps),
            "approved_tables": len(approved),
            "catalog_tables": len(catalog.tables),
            "without_approval": [
                {"table": t.name, "title": t.title} for t in catalog.tables if t.name not in approved
            ],
        },
        "change_requests_unsent": unsent_change_requests(reg, end),
    }
