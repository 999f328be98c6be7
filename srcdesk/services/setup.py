"""Creating an installation and opening one."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ..db import Database
from ..errors import DatabaseError, ValidationError
from ..ids import new_id
from ..models import Establishment, Installation, LocalState
from ..paths import database_path, tighten
from ..sync.capture import Actor
from ..sync.identity import (
    AGE_KEY_FILE,
    SIGNING_KEY_FILE,
    PublicIdentity,
    create_keys,
    keys_dir,
    keys_exist,
    load_keys,
    make_recovery_identity,
    write_private_file,
)
from .base import SAMPLE_KEY, Context, InstallationInfo, UserInfo, load_installation
from .estate import establishment_sort_key
from .reference_data import DEFAULT_RULES_KEY, apply_default_rules, load_reference, seed_reference
from .users import check_password_strength, create_user_unchecked

log = logging.getLogger("srcdesk")


def establishment_codes() -> list[tuple[str, str]]:
    """(code, name) of the open establishments in the shipped reference data."""
    data = load_reference()
    found = [(e["code"], e["name"]) for e in data["establishment"] if not e.get("closed")]
    return sorted(found, key=lambda c: establishment_sort_key(c[1], c[0]))


@dataclass(frozen=True, eq=False)
class NewInstallation(Context):
    """What :func:`init_installation` returns: the new installation, its administrator signed in.

    For the office, ``recovery_key`` is the recovery identity (age-keygen format) to show once
    for safe keeping, unless it was written to the ``recovery_key_out`` file (then it is None).
    srcdesk keeps no copy of it.
    """

    recovery_key: str | None = None


RECOVERY_WARNING = (
    "Anyone with this key can read every bundle sent to the office. Store it offline (printed, "
    "or on a USB stick in the safe), never on this PC; srcdesk keeps no copy."
)


def _check_recovery_out(path: Path, data_dir: Path, office: bool) -> Path:
    if not office:
        raise ValidationError("Only the office has a recovery key.", "recovery_key_out")
    path = Path(path).expanduser()
    if path.exists() or path.is_symlink():
        raise ValidationError(f"{path} already exists; choose a new file for the recovery key.", "recovery_key_out")
    if not path.parent.is_dir():
        raise ValidationError(f"The folder {path.parent} does not exist.", "recovery_key_out")
    if path.resolve().is_relative_to(Path(data_dir).expanduser().resolve()):
        raise ValidationError(
            "Keep the recovery key out of the data folder: anyone with a copy of the folder could "
            "read every bundle sent to the office.",
            "recovery_key_out",
        )
    return path


def _remove_keys(data_dir: Path, *, folder_was_there: bool) -> None:
    """Undo :func:`create_keys` after a failure."""
    folder = keys_dir(data_dir)
    if folder_was_there:
        for name in (SIGNING_KEY_FILE, AGE_KEY_FILE):
            (folder / name).unlink(missing_ok=True)
    else:
        shutil.rmtree(folder, ignore_errors=True)


def init_installation(
    data_dir: Path,
    *,
    establishment: str | None,
    office: bool,
    admin_username: str,
    admin_name: str | None,
    admin_password: str,
    recovery_key_out: Path | None = None,
) -> NewInstallation:
    """Create the data folder, database, keys, installation record and first administrator.

    The installation gets a signing key and an age identity in ``<data_dir>/keys/``; the office
    also gets a recovery identity, written to ``recovery_key_out`` if given, otherwise returned
    as ``recovery_key`` to be shown once. Everything is checked before anything is written; a
    failure leaves no database or keys behind.
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
    if recovery_key_out is not None:
        recovery_key_out = _check_recovery_out(recovery_key_out, data_dir, office)
    if keys_exist(data_dir) and not database_path(data_dir).exists():  # with a database: "already data"
        raise DatabaseError(
            f"There are already keys in {keys_dir(data_dir)} but no database; move that keys folder "
            "away before setting this PC up again."
        )
    db = Database.create(data_dir)
    keys_folder_was_there = keys_dir(data_dir).exists()
    made_keys = wrote_recovery = False
    try:
        signing, age_identity = create_keys(data_dir)
        made_keys = True
        recovery_key, recovery_recipient = make_recovery_identity() if office else (None, None)
        installation_id = new_id()
        with db.session(Actor(installation_id, None)) as s:
            seed_reference(s, Actor(installation_id, None))
            est = None
            if not office:
                est = s.execute(select(Establishment).where(Establishment.code == code,
                                                            Establishment.merged_into.is_(None))).scalar_one()
            role = "office" if office else "establishment"
            name = "SRC office" if office else est.name
            public = PublicIdentity(installation_id, role, est.code if est else None, name,
                                    signing.public().line(), str(age_identity.to_public()), recovery_recipient)
            s.add(
                Installation(
                    id=installation_id,
                    role=role,
                    establishment_id=est.id if est else None,
                    name=name,
                    is_self=True,
                    created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
                    signing_key=public.signing_key,
                    age_recipient=public.age_recipient,
                    recovery_recipient=public.recovery_recipient,
                    fingerprint=public.fingerprint,
                )
            )
            s.flush()
            admin = create_user_unchecked(s, admin_username, admin_name or admin_username, "administrator", admin_password)
            admin_info = UserInfo(admin.id, admin.username, admin.display_name, admin.role, True)
        info = load_installation(db)
        if recovery_key_out is not None and recovery_key is not None:
            write_private_file(recovery_key_out, recovery_key)
            wrote_recovery = True
            recovery_key = None
    except BaseException:
        db.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(db.path) + suffix).unlink(missing_ok=True)
        if made_keys:
            _remove_keys(data_dir, folder_was_there=keys_folder_was_there)
        if wrote_recovery and recovery_key_out is not None:
            recovery_key_out.unlink(missing_ok=True)
        raise
    return NewInstallation(db, info, admin_info, recovery_key=recovery_key)


def ensure_identity(ctx: Context, *, recovery_key_out: Path | None = None) -> str | None:
    """Give an installation made before keys existed its keys and public identity.

    Creates whatever is missing (the signing key and age identity in the data folder, adopting
    key files already there; the office's recovery identity) and fills this installation's row.
    Returns the new recovery identity to show once, unless it was written to ``recovery_key_out``
    (or none was needed). Does nothing when the identity is complete.
    """
    data_dir = ctx.db.data_dir
    with ctx.read() as s:
        row = s.execute(select(Installation).where(Installation.is_self.is_(True))).scalar_one()
        role, has_keys, has_recovery = row.role, bool(row.signing_key and row.age_recipient), bool(row.recovery_recipient)
    office = role == "office"
    need_recovery = office and not has_recovery
    if recovery_key_out is not None:
        recovery_key_out = _check_recovery_out(recovery_key_out, data_dir, office)
    if has_keys and not need_recovery:
        return None
    ctx.require("keys.create")
    keys_folder_was_there = keys_dir(data_dir).exists()
    made_keys = wrote_recovery = False
    try:
        if has_keys:
            signing, age_identity = None, None
        elif keys_exist(data_dir):
            signing, age_identity = load_keys(data_dir)  # made by an earlier attempt that did not finish
        else:
            signing, age_identity = create_keys(data_dir)
            made_keys = True
        recovery_key, recovery_recipient = make_recovery_identity() if need_recovery else (None, None)
        if recovery_key_out is not None and recovery_key is not None:
            write_private_file(recovery_key_out, recovery_key)
            wrote_recovery = True
            recovery_key = None
        with ctx.db.session(ctx.actor) as s:
            row = s.execute(select(Installation).where(Installation.is_self.is_(True))).scalar_one()
            if signing is not None and age_identity is not None:
                row.signing_key = signing.public().line()
                row.age_recipient = str(age_identity.to_public())
            if recovery_recipient is not None:
                row.recovery_recipient = recovery_recipient
            public = PublicIdentity(row.id, row.role, ctx.installation.establishment_code, row.name,
                                    row.signing_key, row.age_recipient, row.recovery_recipient)
            row.fingerprint = public.fingerprint
    except BaseException:
        if made_keys:
            _remove_keys(data_dir, folder_was_there=keys_folder_was_there)
        if wrote_recovery and recovery_key_out is not None:
            recovery_key_out.unlink(missing_ok=True)
        raise
    return recovery_key


def open_installation(data_dir: Path) -> Context:
    """Open existing data (migrating if needed). No user is signed in yet.

    Files and folders of the data left open to others (by an older srcdesk, or a copy) are made
    owner-only first, and the log says so; what can't be changed, ``srcdesk check`` reports."""
    tightened = tighten(data_dir)
    if tightened:
        log.warning("Made %d file(s) or folder(s) in the data folder %s readable by this user only; "
                    "others could read them.", len(tightened), data_dir)
    db = Database.open(data_dir)
    try:
        info: InstallationInfo = load_installation(db)
    except Exception as exc:
        db.close()
        raise DatabaseError(str(exc)) from exc
    _bring_reference_up_to_date(db, info)
    return Context(db, info)


def _bring_reference_up_to_date(db: Database, info: InstallationInfo) -> None:
    """What newer shipped reference data adds to existing data: the default completion rules
    (once), at the office only. Written by the office itself (no user), through change capture,
    they reach every establishment in its bundles; an establishment PC does not write them itself,
    since the office refuses a change to a programme or module that names no coordinator
    (:mod:`srcdesk.sync.authority`)."""
    if not info.is_office:
        return
    with db.session(Actor(info.id, None)) as s:
        if s.get(LocalState, DEFAULT_RULES_KEY) is not None:
            return
        changed = apply_default_rules(s)
    if changed:
        log.info("Gave %d reference programme(s) and module(s) their default completion rule.", changed)


SAMPLE_SCALE = "national"
# The sample data's own administrator: exploring it needs no form filled in first, and its
# sign-in is said on the set-up screen and in the sample window (the data is all made up).
SAMPLE_USERNAME = "sample"
SAMPLE_PASSWORD = "sample-data"
SAMPLE_ADMIN_NAME = "Sam Sample"
SAMPLE_ESTABLISHMENT = "PER"
SAMPLE_SIGN_IN = f"sign in to it as {SAMPLE_USERNAME} with the password {SAMPLE_PASSWORD}"


def create_sample_installation(
    data_dir: Path,
    *,
    establishment: str | None = SAMPLE_ESTABLISHMENT,
    office: bool = False,
    admin_username: str = SAMPLE_USERNAME,
    admin_name: str | None = SAMPLE_ADMIN_NAME,
    admin_password: str = SAMPLE_PASSWORD,
    progress: Callable[[int, int, str], None] | None = None,
) -> NewInstallation:
    """A separate installation in ``data_dir`` filled with made-up sample data to explore.

    It is what ``srcdesk init`` then ``srcdesk demo --scale national`` make, marked as sample
    data so every window says so. ``data_dir`` must not be the real data folder (the caller
    passes :func:`srcdesk.paths.sample_data_dir`); a failure leaves no database behind. Its
    administrator is :data:`SAMPLE_USERNAME` / :data:`SAMPLE_PASSWORD` unless others are given.
    """
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
        shutil.rmtree(keys_dir(data_dir), ignore_errors=True)
        raise
    return NewInstallation(ctx.db, load_installation(ctx.db), ctx.user, recovery_key=ctx.recovery_key)
