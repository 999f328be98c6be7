"""Errors that speak to people.

Services raise these with a sentence a prison officer understands; the CLI prints it on
one line and the GUI shows it next to what caused it.
"""


class SrcdeskError(Exception):
    """Base class: ``str(error)`` is the message shown to the user."""


class ValidationError(SrcdeskError):
    """The input can't be saved as it is."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class PermissionDenied(SrcdeskError):
    """The signed-in user's role does not allow this."""


class NotFound(SrcdeskError):
    """A record that was asked for does not exist (or was deleted)."""


class AuthenticationFailed(SrcdeskError):
    """Sign-in failed. The message never says which part was wrong."""


class DatabaseError(SrcdeskError):
    """The data file is missing, damaged, locked, newer than this srcdesk, or unwritable."""
