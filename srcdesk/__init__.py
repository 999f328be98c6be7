"""srcdesk: record keeping for recovery development in Scotland's prisons."""

__version__ = "0.1.0"
