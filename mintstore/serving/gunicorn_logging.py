"""gunicorn's logger routed into Python logging, so one format applies to every line.

gunicorn installs its own handlers and formats (with a second timestamp);
this class installs none and lets its records propagate to the root logger
that :func:`mintstore.log_format.configure` set up. Its access log stays off:
the application writes the access line (with the user and the request id).
"""

from __future__ import annotations

import logging
from typing import Any

from gunicorn import glogging


class PropagatingLogger(glogging.Logger):  # type: ignore[misc]
    """gunicorn's logger without handlers of its own."""

    def setup(self, cfg: Any) -> None:
        self.cfg = cfg
        self._access_log_enabled = False
        self.loglevel = self.LOG_LEVELS.get(cfg.loglevel.lower(), logging.INFO)
        for log in (self.error_log, self.access_log):
            for handler in list(log.handlers):
                log.removeHandler(handler)
            log.propagate = True
        self.error_log.setLevel(self.loglevel)

    def reopen_files(self) -> None:
        """Nothing to reopen: records go to the root logger's stream."""

    def close_on_exec(self) -> None:
        """No files of our own."""
