"""Logging filters used by settings.LOGGING."""

from __future__ import annotations

import logging


class NoTracebackForClientErrors(logging.Filter):
    """A refused request (403, 404, 400) is logged as one line: its traceback says nothing about a fault of ours.

    Django logs a PermissionDenied with the exception attached; keep the line, drop the traceback.
    Server errors (5xx) keep theirs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
