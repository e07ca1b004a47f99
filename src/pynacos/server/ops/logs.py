"""Log levels changed at run time (Nacos's `ops/log` routes), limited to pynacos's own loggers.

A name is either one of Nacos's module log names that has a pynacos counterpart (table below) or the name
of an existing `pynacos` logger (`pynacos`, `pynacos.auth`, ...). Anything else is refused, and so is an
unknown level: Nacos ignores an unknown name and reads an unknown level as DEBUG, so a typo silently
turned on debug logging or did nothing. Driver and SQLAlchemy loggers are never reachable here (they would
log statement parameters), nor are uvicorn's.
"""

from __future__ import annotations

import logging

from pynacos.server.errors import BadRequest

ROOT = "pynacos"
#: Nacos's log names (core, config and naming modules) -> the pynacos logger doing that job
NACOS_NAMES = {
    "core": "pynacos.server",
    "core-auth": "pynacos.auth",
    "core-cluster": "pynacos.server",
    "config-server": "pynacos.storage",
    "config-dump": "pynacos.storage",
    "config-client-request": "pynacos.access",
    "config-notify": "pynacos.events",
    "naming-server": "pynacos.naming",
    "naming-push": "pynacos.naming.push",
    "naming-event": "pynacos.events",
}
#: logback's level names -> logging levels (TRACE and ALL have no finer level here than DEBUG)
LEVELS = {
    "ALL": logging.DEBUG,
    "TRACE": logging.DEBUG,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "OFF": logging.CRITICAL + 10,
}


def logger_for(name: str) -> logging.Logger:
    """The pynacos logger a request names; 400 for any other name (no logger is created for it)."""
    wanted = NACOS_NAMES.get(name.strip(), name.strip())
    if wanted == ROOT or (wanted.startswith(ROOT + ".") and wanted in logging.root.manager.loggerDict):
        return logging.getLogger(wanted)
    known = ", ".join(sorted(NACOS_NAMES))
    raise BadRequest(f"unknown logName '{name[:64]}': use one of {known}, or the name of a pynacos logger")


def level_of(level: str) -> int:
    value = LEVELS.get(level.strip().upper())
    if value is None:
        raise BadRequest(f"unknown logLevel '{level[:32]}': use one of {', '.join(LEVELS)}")
    return value


def set_level(name: str, level: str) -> str:
    """Set the level; returns the pynacos logger's name (both are checked before anything changes)."""
    logger, value = logger_for(name), level_of(level)
    logger.setLevel(value)
    return logger.name
