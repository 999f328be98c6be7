"""Users: sign-in with argon2id password hashes, and administration of accounts."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from ..db import Database
from ..errors import AuthenticationFailed, NotFound, ValidationError
from ..models import USER_ROLES, Installation, User
from ..sync.capture import Actor
from .base import Context, UserInfo, choice, get_live, text

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
MIN_PASSWORD = 8
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,59}$")
# Verified when the username is unknown, so a wrong name takes as long as a wrong password.
# A constant made once with the hasher's parameters (hashing it at import cost ~1 s of start-up);
# a test checks that its parameters still match the hasher's, so the timing stays the same.
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$42//Y+d9FqubTTNTFbMTBw$kGzQbsuGyhhP/qIycvSfN85wEJhP3V8XH3P6WniXwnA"


def hash_password(password: str) -> str:
    check_password_strength(password)
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValidationError(f"A password must have at least {MIN_PASSWORD} characters.", "password")
    if password.strip() != password or not password.strip():
        raise ValidationError("A password can't start or end with spaces.", "password")


def _username(value: str) -> str:
    value = (value or "").strip().lower()
    if not USERNAME_RE.match(value):
        raise ValidationError(
            "A username is 2 to 60 lower-case letters, digits, dots, dashes or underscores.", "username"
        )
    return value


def local_user():  # noqa: ANN201
    """Accounts made on this installation: the only ones that sign in or are managed here
    (accounts from other installations arrive in bundles for the names they carry)."""
    return User.origin_id == select(Installation.id).where(Installation.is_self.is_(True)).scalar_subquery()


def _info(u: User) -> UserInfo:
    return UserInfo(u.id, u.username, u.display_name, u.role, u.active)


def authenticate(db: Database, username: str, password: str) -> UserInfo:
    """The user, if the name and password match an active account. Never says which part failed."""
    failure = AuthenticationFailed("That username and password don't match an active account.")
    with db.read() as s:
        user = s.execute(
            select(User).where(User.username == (username or "").strip().lower(), User.deleted_hlc.is_(None), local_user())
        ).scalar_one_or_none()
        if user is None or not user.password_hash:
            try:
                _hasher.verify(_DUMMY_HASH, password or "")
            except VerificationError:
                pass
            raise failure
        try:
            _hasher.verify(user.password_hash, password or "")
        except (VerificationError, InvalidHashError):
            raise failure from None
        if not user.active:
            raise failure
        info = _info(user)
        rehash = _hasher.check_needs_rehash(user.password_hash)
    if rehash:
        with db.session(Actor(_self_installation(db), info.id)) as s:
            s.get(User, info.id).password_hash = _hasher.hash(password)
    return info


def _self_installation(db: Database) -> str:
    from .base import load_installation

    return load_installation(db).id


def create_user_unchecked(s, username: str, display_name: str, role: str, password: str) -> User:  # noqa: ANN001
    """Used by `init` (the first administrator) and by :func:`add_user` after its checks."""
    username = _username(username)
    display_name = text(display_name, "Name", "display_name", max_len=120)
    choice(role, USER_ROLES, "Role", "role")
    taken = s.execute(select(func.count()).select_from(User).where(User.username == username, local_user())).scalar_one()
    if taken:
        raise ValidationError(f"The username '{username}' is already taken.", "username")
    user = User(username=username, display_name=display_name, role=role, password_hash=hash_password(password))
    s.add(user)
    s.flush()
    return user


def add_user(ctx: Context, username: str, display_name: str, role: str, password: str) -> UserInfo:
    with ctx.write("user.add") as s:
        return _info(create_user_unchecked(s, username, display_name, role, password))


def list_users(ctx: Context, *, include_disabled: bool = True) -> list[UserInfo]:
    ctx.require("user.list")
    with ctx.read() as s:
        q = select(User).where(User.deleted_hlc.is_(None), local_user()).order_by(User.username)
        if not include_disabled:
            q = q.where(User.active.is_(True))
        return [_info(u) for u in s.execute(q).scalars()]


def _find(s, username: str) -> User:  # noqa: ANN001
    user = s.execute(
        select(User).where(User.username == (username or "").strip().lower(), User.deleted_hlc.is_(None), local_user())
    ).scalar_one_or_none()
    if user is None:
        raise NotFound(f"There is no user called '{username}'.")
    return user


def set_password(ctx: Context, username: str, new_password: str, *, current_password: str | None = None) -> None:
    """An administrator resets another user's password. Your own password is changed with
    the current one (:func:`change_own_password`), whoever you are."""
    if ctx.user is not None and ctx.user.username == (username or "").strip().lower():
        if current_password is None:
            raise ValidationError("To change your own password, give your current one too.", "current_password")
        change_own_password(ctx, current_password, new_password)
        return
    ctx.require("user.password")
    new_hash = hash_password(new_password)
    with ctx.write("user.password") as s:
        _find(s, username).password_hash = new_hash


def change_own_password(ctx: Context, current_password: str, new_password: str) -> None:
    """The signed-in user changes their own password; refused, changing nothing, unless
    ``current_password`` is their password now."""
    ctx.require("password.own")
    new_hash = hash_password(new_password)
    wrong = ValidationError("That is not your current password; nothing was changed.", "current_password")
    with ctx.write("password.own") as s:
        assert ctx.user is not None
        user = s.get(User, ctx.user.id)
        try:
            _hasher.verify(user.password_hash or _DUMMY_HASH, current_password or "")
        except (VerificationError, InvalidHashError):
            raise wrong from None
        if not user.password_hash:
            raise wrong
        user.password_hash = new_hash


def set_role(ctx: Context, username: str, role: str) -> UserInfo:
    ctx.require("user.role")
    choice(role, USER_ROLES, "Role", "role")
    with ctx.write("user.role") as s:
        user = _find(s, username)
        if user.role == "administrator" and role != "administrator":
            _refuse_last_admin(s, user)
        user.role = role
        s.flush()
        return _info(user)


def set_active(ctx: Context, username: str, active: bool) -> UserInfo:
    with ctx.write("user.disable") as s:
        user = _find(s, username)
        if not active:
            if ctx.user and user.id == ctx.user.id:
                raise ValidationError("You can't disable your own account while signed in with it.", "username")
            if user.role == "administrator":
                _refuse_last_admin(s, user)
        user.active = active
        s.flush()
        return _info(user)


def _refuse_last_admin(s, user: User) -> None:  # noqa: ANN001
    others = s.execute(
        select(func.count()).select_from(User).where(
            local_user(),
            User.role == "administrator", User.active.is_(True), User.id != user.id, User.deleted_hlc.is_(None)
        )
    ).scalar_one()
    if not others:
        raise ValidationError("This is the last active administrator; add another one first.", "username")


def get_user(ctx: Context, user_id: str) -> UserInfo:
    with ctx.read() as s:
        return _info(get_live(s, User, user_id, "user"))
