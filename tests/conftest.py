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


# -- several installations that exchange bundles ----------------------------------------------


class World:
    """The SRC office and some establishments, each enrolled with the other (fingerprints checked),
    exchanging bundles through a folder standing in for the USB stick."""

    def __init__(self, root: Path, codes: tuple[str, ...] = ("PER", "BAR")) -> None:
        from srcdesk.services import trust

        self.root = root
        self.stick = root / "stick"
        self.stick.mkdir(parents=True, exist_ok=True)
        self.office = init_installation(root / "office", establishment=None, office=True, admin_username="phr",
                                        admin_name="PHR Officer", admin_password=PASSWORD,
                                        recovery_key_out=root / "recovery.key")
        self.sites: dict[str, Context] = {}
        office_card = root / "office.card"
        trust.export_card(self.office, office_card)
        office_fp = trust.my_identity(self.office).fingerprint
        for code in codes:
            site = init_installation(root / code.lower(), establishment=code, office=False,
                                     admin_username=f"{code.lower()}admin", admin_name=f"{code} Admin",
                                     admin_password=PASSWORD)
            card = root / f"{code.lower()}.card"
            trust.export_card(site, card)
            trust.enrol(site, office_card.read_bytes(), office_fp)
            trust.enrol(self.office, card.read_bytes(), trust.my_identity(site).fingerprint)
            self.sites[code] = site

    def __getitem__(self, code: str) -> Context:
        return self.office if code == "office" else self.sites[code]

    @property
    def all(self) -> list[Context]:
        return [self.office, *self.sites.values()]

    def export(self, source: Context, to: Context | None = None, *, full: bool = False) -> Path:
        """Write a bundle from ``source`` (for the office, or for ``to`` at the office)."""
        from srcdesk.services import sync

        folder = self.stick / f"{len(list(self.stick.rglob('*.srcbundle'))):05d}"
        folder.mkdir()
        results = sync.export_bundles(source, folder, for_installation=to.installation.id if to else None,
                                      full=full)
        assert len(results) == 1
        return results[0].path

    def send(self, source: Context, target: Context, *, full: bool = False):  # noqa: ANN201
        """Export from ``source`` for ``target`` and import it there; returns the ImportResult."""
        from srcdesk.services import sync

        path = self.export(source, target if source.installation.is_office else None, full=full)
        return sync.import_bundle(target, path, backup=False)

    def close(self) -> None:
        for c in self.all:
            c.db.close()


def _table_hash(ctx: Context) -> str:
    from srcdesk.services.check import database_digest

    return database_digest(ctx.db)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path / "world")
    yield w
    w.close()


@pytest.fixture
def table_hash():
    """``table_hash(ctx)``: SHA-256 over every row of every table."""
    return _table_hash


@pytest.fixture
def make_world(tmp_path: Path):
    """``make_world(codes=("PER", "BAR"), name="world")``: a fresh World (closed after the test)."""
    made: list[World] = []

    def make(codes: tuple[str, ...] = ("PER", "BAR"), name: str = "world") -> World:
        w = World(tmp_path / name, codes)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()
