"""The delivery log: which reports, in which version, reached whom.

One row per message ``kpinb deliver`` tried to send (``journal.sqlite``, table
``deliveries``, schema v5), append-only like the rest of the journal. A row is written
right after the mail server answered for that message, in its own transaction, so a run
killed midway leaves a row for every message the server accepted and none for the rest:
the next run sends exactly the rest. ``reports`` is a JSON object, report id to the
SHA-256 of what was sent, so a report that changed is told apart from one already
delivered.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from kpinb.journal.store import now, query, transaction, writer

DELIVERY_COLUMNS = (
    "delivery_id", "period", "recipient_id", "address", "reports", "message_id", "subject",
    "result", "detail", "recorded_at",
)  # fmt: skip
DELIVERIES_SINCE = 5  # the schema version that added the table
DELIVERY_RESULTS = ("sent", "refused", "failed")


def record_delivery(
    root: str | Path,
    *,
    period: str,
    recipient_id: str,
    address: str,
    reports: Mapping[str, str],
    message_id: str,
    subject: str,
    result: str,
    detail: str = "",
) -> int:
    """Append one message's outcome (``result``: sent, refused or failed); returns its id."""
    if result not in DELIVERY_RESULTS:
        msg = f"unknown delivery result {result!r}; use {', '.join(DELIVERY_RESULTS)}"
        raise ValueError(msg)
    row = (
        period, recipient_id, address, json.dumps(dict(sorted(reports.items()))), message_id,
        subject, result, detail, now(),
    )  # fmt: skip
    with writer(root) as conn, transaction(conn):
        cursor = conn.execute(
            "INSERT INTO deliveries (period, recipient_id, address, reports, message_id, "
            "subject, result, detail, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            row,
        )
        return int(cursor.lastrowid or 0)


def delivery_log(root: str | Path, period: str | None = None) -> pd.DataFrame:
    """Every logged message (of ``period``, when given), oldest first; empty without a log."""
    frame = query(
        root,
        "SELECT * FROM deliveries ORDER BY delivery_id",
        DELIVERY_COLUMNS,
        since=DELIVERIES_SINCE,
    )
    return frame if period is None else frame[frame["period"] == period].reset_index(drop=True)


def delivered(root: str | Path, period: str) -> dict[tuple[str, str], set[tuple[str, str]]]:
    """What already reached each (recipient id, address) in ``period``: the (report id,
    content hash) of every version the server accepted."""
    out: dict[tuple[str, str], set[tuple[str, str]]] = {}
    log = delivery_log(root, period)
    for row in log[log["result"] == "sent"].itertuples(index=False):
        got = out.setdefault((str(row.recipient_id), str(row.address)), set())
        got.update(json.loads(str(row.reports)).items())
    return out
