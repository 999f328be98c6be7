"""What a person waits for in the main window, measured by :mod:`bench.ui_bench`.

Each measure runs the real page code: a request (show the page, a keystroke, open a dialog)
and then the event loop until the rows have arrived in the view's model by signal.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

REPEATS = 7
REGISTER_SIZE = 30


def run(app: Any, ctx: Any, window: Any, timed: Callable, idle: Callable[[], bool],  # noqa: PLR0913
        report: Callable[..., None]) -> None:
    people = window.pages["people"]
    sessions = window.pages["sessions"]

    def list_ready(page: Any) -> Callable[[], bool]:
        return lambda: page.model.loaded_once and not page.model.loading

    def open_page(key: str, page: Any) -> float:
        window.show_page("settings")
        timed(app, lambda: None, idle)
        page._stale = True  # as after a change elsewhere: showing it loads the list again
        return timed(app, lambda: window.show_page(key), list_ready(page))

    report("open the People list", [open_page("people", people) for _ in range(REPEATS)], 50)
    report("open the Sessions list", [open_page("sessions", sessions) for _ in range(REPEATS)], 50)

    rng = random.Random(7)
    names = _some_names(ctx, rng)
    window.show_page("people")
    timed(app, lambda: None, idle)
    keystrokes: list[float] = []
    for name in names:
        for n in range(1, len(name) + 1):
            text = name[:n]
            keystrokes.append(timed(app, lambda text=text: people.search.setText(text), list_ready(people)))
        people.search.clear()
        timed(app, lambda: None, list_ready(people))
    report("People search, each keystroke", keystrokes, 50,
           f"typing {len(names)} names letter by letter: {', '.join(repr(n) for n in names)}")

    window.show_page("sessions")
    timed(app, lambda: None, idle)
    words = ["recovery", "café", "wellbeing"]
    keystrokes = []

    def sessions_search(text: str) -> None:
        sessions.search.setText(text)
        sessions._timer.stop()  # the 150 ms typing pause is deliberate; time the work after it
        sessions.reload()

    for word in words:
        for n in range(1, len(word) + 1):
            keystrokes.append(timed(app, lambda t=word[:n]: sessions_search(t), list_ready(sessions)))
        sessions_search("")
        timed(app, lambda: None, list_ready(sessions))
    report("Sessions search, each keystroke (after the typing pause)", keystrokes, 50,
           f"typing {', '.join(repr(w) for w in words)}")

    session_id, size, made = _register_of(ctx, REGISTER_SIZE)
    from srcdesk.ui.register_dialog import RegisterDialog

    samples: list[float] = []
    for _ in range(REPEATS):
        holder: dict[str, Any] = {}

        def open_register(holder: dict[str, Any] = holder) -> None:
            holder["dialog"] = RegisterDialog(ctx, session_id, parent=window)
            holder["dialog"].show()

        samples.append(timed(app, open_register, lambda holder=holder: "dialog" in holder and holder["dialog"].ready))
        holder["dialog"].close()
        timed(app, lambda: None, idle)
    report(f"open the register of a {size}-person session", samples, 100,
           "a session made for the benchmark (the demo has none that large)" if made else "")


def _some_names(ctx: Any, rng: random.Random) -> list[str]:
    from srcdesk.models import Person

    with ctx.read() as s:
        total = s.scalar(select(func.count()).select_from(Person))
        picks = []
        for offset in rng.sample(range(total), 3):
            p = s.execute(select(Person.given_name, Person.family_name).offset(offset).limit(1)).one()
            picks.append(f"{p.given_name} {p.family_name}".lower())
    return picks


def _register_of(ctx: Any, size: int) -> tuple[str, int, bool]:
    """A session with ``size`` people on its register: the demo's biggest if it is that big,
    else one recorded through the services for the benchmark."""
    from srcdesk.models import Attendance, Module, Person, Session
    from srcdesk.services.attendance import RegisterEntry, save_register
    from srcdesk.services.sessions import create_session

    with ctx.read() as s:
        biggest = s.execute(
            select(Attendance.session_id, func.count().label("n")).where(Attendance.deleted_hlc.is_(None))
            .group_by(Attendance.session_id).order_by(func.count().desc()).limit(1)).first()
        if biggest is not None and biggest.n >= size:
            return biggest.session_id, biggest.n, False
        est_id = ctx.installation.establishment_id or s.scalar(
            select(Person.establishment_id).where(Person.establishment_id.is_not(None)).limit(1))
        people = s.scalars(select(Person.id).where(Person.establishment_id == est_id,
                                                   Person.deleted_hlc.is_(None)).limit(size)).all()
        module_id = s.scalar(select(Module.id).where(Module.retired.is_(False)).limit(1))
        last = s.scalar(select(func.max(Session.date)).where(Session.establishment_id == est_id))
    session = create_session(ctx, date=(last or dt.date.today()) + dt.timedelta(days=1), start_time="10:00",
                             end_time="11:30", module_id=module_id, establishment_id=est_id,
                             location="Benchmark room")
    save_register(ctx, session.id, [RegisterEntry(pid) for pid in people])
    return session.id, len(people), True
