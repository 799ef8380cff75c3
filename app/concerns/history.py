"""What an update of a zoo's stored flags leaves behind besides the flags: the flags raised
and cleared (concern_change), the zoo's totals on its state row (the ranking reads them) and
today's snapshot of them (the timeline). Written in the update's transaction."""

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import case, func, insert, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from app.concerns.rules import Context
from app.concerns.tables import CHANGES, DIRTY, FLAGS, INCIDENTS, SNAPSHOTS, STATE, SUBJECTS
from app.events import outbox
from app.events.outbox import EventType
from app.models.incident import OPEN_STATUSES

FlagKey = tuple[str, str, int]  # rule, subject type, subject id
TOTALS = ("flagged_animals", "flagged_enclosures", "total_score", "max_severity", "open_incidents")


def flags(
    connection: Connection, params: Mapping[str, Any], *, whole_zoo: bool
) -> dict[FlagKey, tuple[int, str]]:
    """The stored flags an update is about to replace (the zoo's, or its dirty subjects'),
    by rule and subject: their severity and reason."""
    query = select(
        FLAGS.c.rule, FLAGS.c.subject_type, FLAGS.c.subject_id, FLAGS.c.severity, FLAGS.c.reason
    ).where(FLAGS.c.zoo_id == params["zoo_id"])
    if not whole_zoo:
        dirty = select(DIRTY.c.subject_type, DIRTY.c.subject_id).where(
            DIRTY.c.zoo_id == params["zoo_id"]
        )
        query = query.where(tuple_(FLAGS.c.subject_type, FLAGS.c.subject_id).in_(dirty))
    return {(r[0], r[1], r[2]): (r[3], r[4]) for r in connection.execute(query)}


def record(
    connection: Connection,
    ctx: Context,
    version: int,
    before: dict[FlagKey, tuple[int, str]],
    after_rows: Sequence[tuple[Any, ...]],
) -> None:
    """Records the changes between `before` and the rows stored (in store.COLUMNS' order),
    then the zoo's totals as of `version` and today's snapshot."""
    after = {(r[0], r[1], r[2]): (r[4], r[5]) for r in after_rows}
    changes = [_change(ctx, "raised", key, after[key]) for key in after.keys() - before.keys()] + [
        _change(ctx, "cleared", key, before[key]) for key in before.keys() - after.keys()
    ]
    if changes:
        changes.sort(key=lambda c: (c["kind"], c["subject_type"], c["subject_id"], c["rule"]))
        connection.execute(insert(CHANGES), changes)
        outbox.append(connection, [_event(c) for c in changes])
    totals = _totals(connection, ctx.zoo_id)
    connection.execute(
        update(STATE)
        .where(STATE.c.zoo_id == ctx.zoo_id)
        .values(version=version, evaluated_at=ctx.now, **totals)
    )
    upsert = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(
        SNAPSHOTS
    ).values(zoo_id=ctx.zoo_id, day=ctx.today, **totals)
    connection.execute(upsert.on_conflict_do_update(index_elements=["zoo_id", "day"], set_=totals))


def _change(ctx: Context, kind: str, key: FlagKey, flag: tuple[int, str]) -> dict[str, Any]:
    rule, subject_type, subject_id = key
    severity, reason = flag
    return {
        "zoo_id": ctx.zoo_id,
        "at": ctx.now,
        "kind": kind,
        "rule": rule,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "severity": severity,
        "reason": reason,
    }


def _event(change: dict[str, Any]) -> dict[str, Any]:
    """concern.raised or concern.cleared, the flag as `data`."""
    kind = EventType.concern_raised if change["kind"] == "raised" else EventType.concern_cleared
    flag = {k: change[k] for k in ("rule", "subject_type", "subject_id", "severity", "reason")}
    return outbox.row(
        kind,
        zoo_id=change["zoo_id"],
        subject_type=change["subject_type"],
        subject_id=change["subject_id"],
        data=json.dumps(flag | {"at": change["at"].isoformat().replace("+00:00", "Z")}),
        at=change["at"],
    )


def _totals(connection: Connection, zoo_id: int | None) -> dict[str, int]:
    def of(kind: str) -> Any:
        return func.coalesce(func.sum(case((SUBJECTS.c.subject_type == kind, 1), else_=0)), 0)

    open_incidents = (
        select(func.count())
        .select_from(INCIDENTS)
        .where(INCIDENTS.c.zoo_id == zoo_id, INCIDENTS.c.status.in_(OPEN_STATUSES))
        .scalar_subquery()
    )
    row = connection.execute(
        select(
            of("animal"),
            of("enclosure"),
            func.coalesce(func.sum(SUBJECTS.c.score), 0),
            func.coalesce(func.max(SUBJECTS.c.max_severity), 0),
            open_incidents,
        ).where(SUBJECTS.c.zoo_id == zoo_id)
    ).one()
    return {name: int(value) for name, value in zip(TOTALS, row, strict=True)}
