"""Where the app keeps its settings and its data (recovery files).

NOTE: when the environment variable ``NETBUILDER_SETTINGS_DIR`` is set, settings are INI files
under that folder and the data folder is ``<that folder>/data``: tests point it at a temporary
folder so they never read or write a person's real settings.
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QSettings, QStandardPaths

ORGANIZATION = "netbuilder"
APPLICATION = "netbuilder"
SETTINGS_DIR_ENV = "NETBUILDER_SETTINGS_DIR"

# Keys (one place, so a typo cannot silently make a second setting).
KEY_GEOMETRY = "window/geometry"
KEY_STATE = "window/state"
KEY_RECENT = "files/recent"
KEY_THEME = "view/theme"
KEY_LAST_DIR = "files/last_dir"
KEY_PALETTE_COLLAPSED = "palette/collapsed"
KEY_PALETTE_RECENT = "palette/recent"

MAX_RECENT = 10


def configure() -> None:
    """Name the application for QSettings; honour ``NETBUILDER_SETTINGS_DIR``."""
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    folder = os.environ.get(SETTINGS_DIR_ENV)
    if folder:
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
            QSettings.setPath(QSettings.Format.IniFormat, scope, folder)


def app_settings() -> QSettings:
    """The app's settings store (INI under ``NETBUILDER_SETTINGS_DIR`` when that is set)."""
    folder = os.environ.get(SETTINGS_DIR_ENV)
    if folder:
        return QSettings(str(Path(folder) / f"{APPLICATION}.ini"), QSettings.Format.IniFormat)
    return QSettings(ORGANIZATION, APPLICATION)


def data_dir() -> Path:
    """A writable folder for recovery files; created on first use."""
    folder = os.environ.get(SETTINGS_DIR_ENV)
    if folder:
        path = Path(folder) / "data"
    else:
        location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
        path = Path(location) if location else Path.home() / ".netbuilder"
    path.mkdir(parents=True, exist_ok=True)
    return path


def read_list(settings: QSettings, key: str) -> list[str]:
    """A list of strings (QSettings returns a str, a list or None depending on the backend)."""
    value = settings.value(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value]
