"""This PC's clock: is srcdesk's clock ahead of it, and the repair after a wrong clock.

srcdesk stamps every change with a hybrid logical clock (:mod:`srcdesk.sync.hlc`) that follows
the PC's clock but never goes back. A PC whose clock was set days ahead stamps its changes days
ahead; once the clock is corrected, srcdesk's clock stays ahead (its stamps keep coming after the
last one), and the office refuses every bundle stamped more than a day ahead. The way out:

- :func:`clock_status` (``srcdesk clock check``, Settings → This PC's clock, the warning when the
  app starts): this PC's clock, srcdesk's clock, how far ahead it is, and how many changes made
  here are stamped in the future. More than an hour ahead needs a repair.
- :func:`repair_clock` (``srcdesk clock repair``, administrators): after an automatic backup, in
  one transaction, re-stamps those changes (:mod:`srcdesk.sync.restamp`) so the next bundle
  carries them with honest stamps, and moves srcdesk's clock back to the present.
- :func:`refuse_export_if_ahead`: export writes no bundle that every importer would refuse.

The PC's clock is ``Database.wall_ms`` (tests give a PC a wrong clock there).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..backups import timestamped_backup
from ..errors import ValidationError
from ..sync.bundle import FUTURE_SLACK
from ..sync.capture import CAPTURE_FLAG
from ..sync.hlc import pack, physical_ms, to_datetime
from ..sync.restamp import own_changes_ahead, received_max, restamp, stored_clock
from ..words import plural
from .base import Context

Progress = Callable[[int, int, str], None]

AHEAD_LIMIT = dt.timedelta(hours=1)  # srcdesk's clock further ahead than this needs a repair
REPAIR_COMMAND = "'srcdesk clock repair' (or Settings → This PC's clock → Repair)"
_TOP = 0xFFFF  # the highest counter: "now" covers every stamp of the present millisecond


def when(moment: dt.datetime) -> str:
    """A moment in this PC's time zone, for people: ``4 December 2026, 10:15 GMT``."""
    local = moment.astimezone()
    return f"{local.day} {local:%B %Y, %H:%M} {local:%Z}".rstrip()


def how_long(span: dt.timedelta) -> str:
    """``2 days``, ``1 day and 3 hours``, ``5 hours and 10 minutes``, ``45 minutes``."""
    minutes = round(span.total_seconds() / 60)
    if minutes >= 6 * 60:  # to the hour: two screens read a moment apart must say the same
        minutes = round(minutes / 60) * 60
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _count(days, "day") + (f" and {_count(hours, 'hour')}" if hours else "")
    if hours:
        return _count(hours, "hour") + (f" and {_count(minutes, 'minute')}" if minutes else "")
    return _count(minutes, "minute")


def _count(n: int, word: str) -> str:
    return plural(n, word)


def _changes(n: int) -> str:
    return _count(n, "change")


@dataclass(frozen=True)
class ClockStatus:
    """srcdesk's clock against this PC's, in plain values."""

    wall: dt.datetime  # this PC's clock now (UTC)
    stored: dt.datetime | None  # srcdesk's clock: the last stamp it gave or saw (None: none yet)
    ahead: dt.timedelta  # how far srcdesk's clock is ahead of this PC's (zero if it is not)
    changes_ahead: int  # changes made on this PC stamped after now
    changes_ahead_written: int  # of which in a bundle already written
    received_until: dt.datetime | None  # changes received from another PC stamped after now: up to when
    received_from: str | None  # that PC
    repairable: bool  # a repair on this PC can move its clock back

    @property
    def needs_repair(self) -> bool:
        return self.ahead > AHEAD_LIMIT

    @property
    def state(self) -> str:
        """The state in one or two sentences, for the Settings page and the warning at start."""
        if not self.needs_repair:
            if self.ahead >= dt.timedelta(minutes=1):
                return (f"srcdesk's clock is {how_long(self.ahead)} ahead of this PC's clock. That is fine: "
                        "it catches up by itself.")
            return "srcdesk's clock agrees with this PC's clock."
        if not self.repairable:
            return (f"srcdesk's clock is {how_long(self.ahead)} ahead of this PC's clock, because changes "
                    f"received from {self.received_from} are stamped up to {when(self.received_until)}. "
                    "The clock of that PC is (or was) ahead: it needs the repair. This PC catches up by itself "
                    "at that time.")
        made = ""
        if self.changes_ahead:
            made = (f" {_changes(self.changes_ahead)} made here {'is' if self.changes_ahead == 1 else 'are'} "
                    "stamped in the future, " + ("and bundles stamped more than a day ahead are refused."
                                                 if self.ahead > FUTURE_SLACK else
                                                 "and the clocks of the PCs that take them would run ahead too."))
        return (f"srcdesk's clock is {how_long(self.ahead)} ahead of this PC's clock.{made} If this PC's "
                "clock is right now, repair srcdesk's clock.")

    @property
    def headline(self) -> str:
        """One sentence for the warning when srcdesk starts (the details are in Settings)."""
        if not self.repairable:
            return (f"srcdesk's clock is {how_long(self.ahead)} ahead because of changes from {self.received_from}: "
                    "that PC's clock needs repairing.")
        return (f"srcdesk's clock is {how_long(self.ahead)} ahead of this PC's clock: if this PC's clock is right, "
                "an administrator should repair it (Settings → This PC's clock).")

    def describe(self) -> list[str]:
        """One line per fact (``srcdesk clock check``)."""
        lines = [f"This PC's clock: {when(self.wall)}.",
                 f"srcdesk's clock: {when(self.stored)}." if self.stored else
                 "srcdesk's clock: nothing stamped on this PC yet."]
        if self.ahead >= dt.timedelta(minutes=1):
            lines.append(f"srcdesk's clock is {how_long(self.ahead)} ahead of this PC's clock.")
        else:
            lines.append("srcdesk's clock is not ahead of this PC's clock.")
        if self.changes_ahead:
            lines.append(f"{_changes(self.changes_ahead)} made on this PC {'is' if self.changes_ahead == 1 else 'are'} "
                         f"stamped after now; {self.changes_ahead_written} of them "
                         f"{'was' if self.changes_ahead_written == 1 else 'were'} in a bundle already written.")
        else:
            lines.append("No change made on this PC is stamped after now.")
        if self.received_until is not None:
            lines.append(f"Changes received from {self.received_from} are stamped up to "
                         f"{when(self.received_until)}: the clock of that PC is (or was) ahead.")
        if not self.needs_repair:
            lines.append("No repair is needed.")
        elif self.repairable:
            lines.append(f"A repair is needed: if this PC's clock is right now, an administrator runs "
                         f"{REPAIR_COMMAND}, then exports again.")
        else:
            lines.append("A repair is needed on the PC those changes came from; srcdesk's clock here can't go "
                         "back below them and catches up by itself.")
        return lines


@contextmanager
def _reading(ctx: Context) -> Iterator[Any]:
    with ctx.db.engine.connect() as conn:
        yield conn.connection.driver_connection


def _now_hlc(ctx: Context) -> tuple[int, int]:
    wall = ctx.db.wall_ms()
    return wall, pack(wall, _TOP)


def clock_status(ctx: Context) -> ClockStatus:
    """srcdesk's clock against this PC's. Cheap when the clock is not ahead (one lookup); when it
    is, it also counts the changes stamped in the future."""
    wall_ms, now_hlc = _now_hlc(ctx)
    me = ctx.installation.id
    with _reading(ctx) as dbapi:
        stored = max(stored_clock(dbapi), ctx.db.clock.last)
        ahead_ms = max(0, physical_ms(stored) - wall_ms)
        changes = written = 0
        received_until = received_from = None
        repairable = False
        if stored > now_hlc:
            counted = own_changes_ahead(dbapi, me, now_hlc)
            changes, written = counted.changes, counted.written
            top, origin = received_max(dbapi, me)
            if top > now_hlc:
                received_until = to_datetime(top)
                name = dbapi.execute("SELECT name FROM installation WHERE id = ?", (origin,)).fetchone()
                received_from = name[0] if name else "another installation"
            repairable = stored > max(now_hlc, top)
    return ClockStatus(
        wall=dt.datetime.fromtimestamp(wall_ms / 1000, tz=dt.UTC),
        stored=to_datetime(stored) if stored else None,
        ahead=dt.timedelta(milliseconds=ahead_ms),
        changes_ahead=changes, changes_ahead_written=written,
        received_until=received_until, received_from=received_from, repairable=repairable,
    )


@dataclass(frozen=True)
class RepairResult:
    changes: int  # changes re-stamped
    written: int  # of which had been in a bundle already
    new_records: int  # of which made a record
    deletions: int  # of which deleted one
    records: int  # records whose stamps were rewritten
    changed: int  # of which now show an edit received from elsewhere, made after this PC's
    held: int  # records kept as they were (their new state breaks a rule of the database)
    clock_before: dt.datetime
    clock_after: dt.datetime
    stamped_up_to: dt.datetime | None  # the latest new stamp
    backup: Path

    def describe(self) -> list[str]:
        edits = self.changes - self.new_records - self.deletions
        parts = [_count(n, word) for n, word in ((edits, "edit"), (self.new_records, "new record"),
                                                  (self.deletions, "deletion")) if n]
        lines = [f"Re-stamped {_changes(self.changes)} made on this PC ({', '.join(parts)})"
                 + (f"; {self.written} of them had been in a bundle already." if self.written else ".")
                 if self.changes else "No change made on this PC needed new stamps."]
        if self.stamped_up_to is not None:
            lines.append(f"Their new stamps go up to {when(self.stamped_up_to)}: export a bundle again to send "
                         "them.")
        if self.changed:
            lines.append(f"{_count(self.changed, 'record')} now show an edit received from another PC, "
                         "made after this PC's; this PC's value is in the conflict queue.")
        if self.held:
            lines.append(f"{_count(self.held, 'record')} stayed as they were: their new state breaks "
                         "a rule of the database (see Sync → History, or 'srcdesk bundle history').")
        lines.append(f"srcdesk's clock went back from {when(self.clock_before)} to {when(self.clock_after)}.")
        lines.append(f"A backup was made first: {self.backup}.")
        return lines


def repair_clock(ctx: Context, progress: Progress | None = None) -> RepairResult:
    """Re-stamp this PC's changes stamped in the future and move srcdesk's clock back to the
    present, after an automatic backup, in one transaction. Refused if nothing needs repairing."""
    ctx.require("clock.repair")
    status = clock_status(ctx)
    if not status.needs_repair:
        raise ValidationError(f"Nothing needs repairing: {status.state}", "clock")
    if not status.repairable:
        raise ValidationError(f"Nothing can be repaired on this PC: {status.state}", "clock")
    if progress:
        progress(0, 2, "Backing up the data…")
    backup = timestamped_backup(ctx.db.data_dir, "before-clock-repair")
    if progress:
        progress(1, 2, "Re-stamping this PC's changes…")
    wall_ms, now_hlc = _now_hlc(ctx)
    with ctx.db.session(ctx.actor) as s:
        conn = s.connection()
        conn.info[CAPTURE_FLAG] = True
        dbapi = conn.connection.driver_connection
        if not dbapi.in_transaction:
            dbapi.execute("BEGIN IMMEDIATE")  # what it reads stays true until it commits
        done = restamp(dbapi, ctx.installation.id, now_hlc,
                       now=dt.datetime.fromtimestamp(wall_ms / 1000, tz=dt.UTC).replace(tzinfo=None),
                       clock=ctx.db.clock.last)
        conn.info.pop(CAPTURE_FLAG, None)
    ctx.db.rewind_clock(done.clock_after)
    if progress:
        progress(2, 2, "Done")
    return RepairResult(
        changes=done.changes, written=done.written, new_records=done.by_op.get("insert", 0),
        deletions=done.by_op.get("delete", 0), records=done.records, changed=done.changed, held=done.held,
        clock_before=to_datetime(done.clock_before), clock_after=to_datetime(done.clock_after),
        stamped_up_to=to_datetime(done.last) if done.last else None, backup=backup,
    )


def refuse_export_if_ahead(ctx: Context) -> None:
    """Refuse to write bundles while changes made on this PC are stamped more than the importers'
    slack (a day) ahead of its clock. Those not sent yet would make every importer refuse the
    bundle; those sent already were in a bundle that was refused, and only a repair gets them to
    the office: a bundle written now would look like all was sent. Cheap when srcdesk's clock is
    not that far ahead (one lookup)."""
    wall_ms = ctx.db.wall_ms()
    limit = pack(wall_ms + int(FUTURE_SLACK.total_seconds() * 1000), _TOP)
    with _reading(ctx) as dbapi:
        if max(stored_clock(dbapi), ctx.db.clock.last) <= limit:
            return
        ahead = own_changes_ahead(dbapi, ctx.installation.id, limit)
    if ahead.changes:
        sent = (f" ({ahead.written} of them {'was' if ahead.written == 1 else 'were'} in a bundle already written, "
                "which the office refuses)" if ahead.written else "")
        raise ValidationError(
            f"{_changes(ahead.changes)} made on this PC {'is' if ahead.changes == 1 else 'are'} stamped up to "
            f"{when(to_datetime(ahead.highest))}, more than a day ahead of this PC's clock{sent}. If this PC's "
            f"clock is right now, run {REPAIR_COMMAND}, then export again: the changes are kept.", "clock")
