"""Shared fixtures: a fresh installation in a temporary folder for every test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from srcdesk.services.base import Context  # noqa: E402
from srcdesk.services.setup import init_installation  # noqa: E402
from srcdesk.services.users import add_user  # noqa: E402

PASSWORD = "password123"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def ctx(data_dir: Path) -> Iterator[Context]:
    """An HMP Perth installation with its administrator signed in."""
    c = init_installation(data_dir, establishment="PER", office=False, admin_username="ann",
                          admin_name="Ann Admin", admin_password=PASSWORD)
    yield c
    c.db.close()


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Context]:
    c = init_installation(tmp_path / "office", establishment=None, office=True, admin_username="phr",
                          admin_name="PHR Officer", admin_password=PASSWORD)
    yield c
    c.db.close()


def as_role(ctx: Context, role: str, username: str | None = None) -> Context:
    """The same installation with a new user of ``role`` signed in."""
    user = add_user(ctx, username or f"{role}1", role.title(), role, PASSWORD)
    return Context(ctx.db, ctx.installation, user)


@pytest.fixture
def make_user():
    """``make_user(ctx, role, username=None)``: the same installation, another user signed in."""
    return as_role


@pytest.fixture
def recorder(ctx: Context) -> Context:
    return as_role(ctx, "recorder", "rita")


@pytest.fixture
def coordinator(ctx: Context) -> Context:
    return as_role(ctx, "coordinator", "colin")
