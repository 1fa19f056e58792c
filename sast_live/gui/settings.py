"""What the window remembers between runs: its size and docks, the display choices (theme, event-view colours,
accumulate window and decay, video speed) and the recent files. An INI file in the user's config folder
(``~/.config/sast-live/sast-live.ini``), or in ``$SAST_LIVE_CONFIG_DIR`` when set (the tests use their own).

What the command line sets — source, model, precision, speed, filters — is not remembered: the command a user
types always means the same thing. Each stored value is checked when read; a wrong or broken one is ignored
(the default is used), never an error.
"""

from __future__ import annotations

import os
from pathlib import Path

from PyQt6 import QtCore

CONFIG_ENV = "SAST_LIVE_CONFIG_DIR"
MAX_RECENT = 8


def open_settings() -> QtCore.QSettings:
    folder = os.environ.get(CONFIG_ENV)
    if folder:
        return QtCore.QSettings(str(Path(folder) / "sast-live.ini"), QtCore.QSettings.Format.IniFormat)
    return QtCore.QSettings(QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Scope.UserScope, "sast-live",
                            "sast-live")


def read_choice(settings: QtCore.QSettings, key: str, choices, default):
    """The stored ``key`` if it is one of ``choices``, else ``default``."""
    value = settings.value(key, default)
    return value if value in choices else default


def read_int(settings: QtCore.QSettings, key: str, lo: int, hi: int, default: int) -> int:
    """The stored ``key`` as an int in ``lo``…``hi``, else ``default``."""
    try:
        value = int(settings.value(key, default))
    except (TypeError, ValueError):
        return default
    return value if lo <= value <= hi else default


def read_float(settings: QtCore.QSettings, key: str, choices, default: float) -> float:
    try:
        value = float(settings.value(key, default))
    except (TypeError, ValueError):
        return default
    return value if value in choices else default


def recent_files(settings: QtCore.QSettings) -> list[str]:
    """The recent recordings, newest first, those that still exist."""
    stored = settings.value("recent", [])
    if isinstance(stored, str):  # QSettings gives one stored item back as a plain string
        stored = [stored]
    if not isinstance(stored, list):
        return []
    return [p for p in stored if isinstance(p, str) and os.path.isfile(p)][:MAX_RECENT]


def add_recent(settings: QtCore.QSettings, path: str) -> list[str]:
    """Put ``path`` first in the recent files (once), keep :data:`MAX_RECENT`; returns the new list."""
    path = os.path.abspath(path)
    files = [path] + [p for p in recent_files(settings) if p != path]
    settings.setValue("recent", files[:MAX_RECENT])
    return files[:MAX_RECENT]
