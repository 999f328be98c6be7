"""Refusals of untrusted input (bundles, enrolment cards), each with a reason people can act on."""

from __future__ import annotations

from ..errors import SrcdeskError


class BundleRefused(SrcdeskError):
    """A bundle or enrolment card was refused; ``str()`` says why. Nothing was changed."""
