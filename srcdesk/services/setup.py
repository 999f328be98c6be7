"""Creating an installation and opening one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from ..db import Database
from ..errors import DatabaseError, ValidationError
from ..ids import new_id
from ..models import Establishment, Installation, LocalState
from ..sync.capture import Actor
from .base import SAMPLE_KEY, Context, InstallationInfo, UserInfo, load_installation
from .reference_data import load_reference, seed_reference
from .users import check_password_strength, create_user_unchecked


def establishment_codes() -> list[tuple[str, str]]:
    """(code, name) of the open establishments in the shipped reference data."""
    data = load_reference()
    return [(e["code"], e["name"]) for e in data["establishment"] if not e.get("closed")]


def init_installation(
    data_dir: Path,
    *,
    establishment: str | None,
    office: bool,
    admin_username: str,
    admin_name: str | None,
    admin_password: str,
) -> Context:
    """Create the data folder, database, installation record and first administrator.

    Everything is checked before anything is written; a failure leaves no database behind.
    """
    if office == bool(establishment):
        raise ValidationError("Choose either an establishment or the office.", "establishment")
    code = (establishment or "").strip().upper()
    if not office:
        known = dict(establishment_codes())
        if code not in known:
            raise ValidationError(
                f"Unknown establishment code '{establishment}'. Known codes: {', '.join(sorted(known))}.",
                "establishment",
            )
    check_password_strength(admin_password)
    db = Database.create(data_dir)
    try:
        installation_id = new_id()
        with db.session(Actor(installation_id, None)) as s:
            seed_reference(s, Actor(installation_id, None))
            est = None
            if not office:
                est = s.execute(select(Establishment).where(Establishment.code == code)).scalar_one()
            s.add(
                Installation(
                    id=installation_id,
                    role="office" if office else "establishment",
                    establishment_id=est.id if est else None,
                    name="SRC office" if office else est.name,
                    is_self=True,
                    created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
                )
            )
            s.flush()
            admin = create_user_unchecked(s, admin_username, admin_name or admin_username, "administrator", admin_password)
            admin_info = UserInfo(admin.id, admin.username, admin.display_name, admin.role, True)
    except BaseException:
        db.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(db.path) + suffix).unlink(missing_ok=True)
        raise
    return Context(db, load_installation(db), admin_info)


def open_installation(data_dir: Path) -> Context:
    """Open existing data (migrating if needed). No user is signed in yet."""
    db = Database.open(data_dir)
    try:
        info: InstallationInfo = load_installation(db)
    except Exception as exc:
        db.close()
        raise DatabaseError(str(exc)) from exc
    return Context(db, info)


SAMPLE_SCALE = "national"


def create_sample_installation(
    data_dir: Path,
    *,
    establishment: str | None,
    office: bool,
    admin_username: str,
    admin_name: str | None,
    admin_password: str,
    progress: Callable[[int, int, str], None] | None = None,
) -> Context:
    """A separate installation in ``data_dir`` filled with made-up sample data to explore.

    It is what ``srcdesk init`` then ``srcdesk demo --scale national`` make, marked as sample
    data so every window says so. ``data_dir`` must not be the real data folder (the caller
    passes :func:`srcdesk.paths.sample_data_dir`); a failure leaves no database behind.
    """
    from ..paths import database_path
    from .demo import generate_demo

    if database_path(data_dir).exists():
        raise ValidationError(f"There is already sample data in {data_dir}; open it instead.", "sample")
    ctx = init_installation(data_dir, establishment=establishment, office=office, admin_username=admin_username,
                            admin_name=admin_name, admin_password=admin_password)
    try:
        with ctx.db.session(ctx.actor) as s:
            s.add(LocalState(key=SAMPLE_KEY, value=dt.date.today().isoformat()))
        generate_demo(ctx, scale=SAMPLE_SCALE, progress=progress)
    except BaseException:
        ctx.db.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(database_path(data_dir)) + suffix).unlink(missing_ok=True)
        raise
    return Context(ctx.db, load_installation(ctx.db), ctx.user)
