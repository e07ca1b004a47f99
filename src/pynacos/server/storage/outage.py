"""Storage failures: which exceptions mean "the database let us down", and how they reach the log.

Every request that fails in storage is answered `storage error, nothing was changed` (routing.py);
this module decides which exceptions those are and keeps the log readable while they last.

Which exceptions: SQLAlchemy wraps what the driver reports while running a statement, but the async
drivers' connect step raises plain `OSError`s (asyncpg: `ConnectionRefusedError`, `TimeoutError`) and
their own exception classes, which reach the caller unwrapped. So a storage error is any
`SQLAlchemyError`, any exception class of a driver, or an `OSError` that came up through SQLAlchemy or
a driver (one of their frames is on its traceback); an `OSError` from anywhere else is not one.

Theory of the log (one `StorageHealth` per database):
- healthy -> failing on a failure: one line naming the database, its address, what failed and the
  driver's message; later failures are counted and summed up in at most one line per `period`;
- failing -> healthy when a write statement succeeds: one line saying how long it lasted;
- a new episode that starts within `period` of the last logged one is counted, not logged, so a
  client that alternates failing and succeeding writes cannot flood the log either.

Invariants: no line holds the URL's credentials or a statement's parameters (causes are the driver's
message, whitespace collapsed, cut short, the password masked); state changes happen on the event
loop's thread only (SQLAlchemy runs its events there too).
"""

from __future__ import annotations

import logging
import re
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("pynacos.storage")

STORAGE_ERROR = "storage error, nothing was changed; see the server log"
PERIOD = 60.0
_STORAGE_PACKAGES = frozenset({"sqlalchemy", "asyncpg", "asyncmy", "aiosqlite", "sqlite3", "pymysql"})
_DRIVER_PACKAGES = _STORAGE_PACKAGES - {"sqlalchemy"}
#: MySQL client errors that mean no usable connection: can't connect (local/TCP), gone away, lost, host
_MYSQL_UNREACHABLE = frozenset({2002, 2003, 2005, 2006, 2013, 2055})
#: asyncpg classes that mean the server is not (yet, or any more) taking this connection
_POSTGRES_UNREACHABLE = frozenset(
    {"CannotConnectNowError", "ConnectionDoesNotExistError", "ConnectionFailureError", "AdminShutdownError"}
)
_DEFAULT_PORTS = {"mysql": 3306, "postgresql": 5432}
_CREDENTIALS_IN_URL = re.compile(r"(//[^/:@\s]*:)[^@\s]*@")
_CAUSE_LENGTH = 300


def is_storage_error(exc: BaseException) -> bool:
    """True for failures of the database or of the way to it (see the module docstring)."""
    if isinstance(exc, SQLAlchemyError) or _package(type(exc)) in _DRIVER_PACKAGES:
        return True
    return isinstance(exc, OSError) and _came_through_storage(exc.__traceback__)


def is_unreachable(exc: BaseException) -> bool:
    """True when the database could not be reached or dropped the connection: waiting may help."""
    for link in _chain(exc):
        if isinstance(link, OSError) or (isinstance(link, DBAPIError) and link.connection_invalidated):
            return True
        if _package(type(link)) == "asyncmy" and link.args and link.args[0] in _MYSQL_UNREACHABLE:
            return True
        if _package(type(link)) == "asyncpg" and type(link).__name__ in _POSTGRES_UNREACHABLE:
            return True
    return False


def _package(kind: type) -> str:
    return kind.__module__.partition(".")[0]


def _came_through_storage(tb: TracebackType | None) -> bool:
    while tb is not None:
        if str(tb.tb_frame.f_globals.get("__name__", "")).partition(".")[0] in _STORAGE_PACKAGES:
            return True
        tb = tb.tb_next
    return False


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception, what it wraps (`orig`) and its causes, each once."""
    seen: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and all(link is not s for s in seen):
        seen.append(link)
        orig = getattr(link, "orig", None)
        link = orig if isinstance(orig, BaseException) else link.__cause__ or link.__context__
    return seen


@dataclass(frozen=True)
class Database:
    """What the log may say about a database: never its user or password (the password is kept only to
    mask it wherever a driver message repeats it)."""

    backend: str
    name: str
    host: str = ""
    port: int | None = None
    password: str = field(default="", repr=False)

    @classmethod
    def of(cls, url: URL) -> Database:
        backend = url.get_backend_name()
        port = url.port or _DEFAULT_PORTS.get(backend)
        return cls(backend, url.database or "", url.host or "", port, url.password or "")

    def __str__(self) -> str:
        if self.backend == "sqlite":
            return f"sqlite database {self.name}"
        return f"{self.backend} database {self.name or '(default)'} at {self.address}"

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.port else host

    def cause(self, exc: BaseException) -> str:
        """What failed, in one short line: `cannot reach ...` or `error from ...`, and the driver's words."""
        what = "cannot reach" if is_unreachable(exc) else "error from"
        return f"{what} the {self} ({self.message(exc)})"

    def message(self, exc: BaseException) -> str:
        """The driver's own exception, not SQLAlchemy's wrappers (which quote the statement and its values)."""
        chain = _chain(exc)
        drivers = [link for link in chain if _package(type(link)) in _DRIVER_PACKAGES]
        others = [link for link in chain if _package(type(link)) != "sqlalchemy"]
        inner = (drivers or others or [exc])[0]
        text = " ".join(str(inner).split()) or "no message"
        text = _CREDENTIALS_IN_URL.sub(r"\1***@", text)
        if self.password:
            text = text.replace(self.password, "***")
        if len(text) > _CAUSE_LENGTH:
            text = text[: _CAUSE_LENGTH - 3] + "..."
        return f"{type(inner).__name__}: {text}"


class StorageHealth:
    """The log's account of one database's failures and recoveries (see the module docstring)."""

    def __init__(
        self, database: Database | None = None, period: float = PERIOD, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.database = database
        self.period = period
        self.clock = clock
        self.failing_since: float | None = None
        self._logged = False  # this episode's first failure was logged
        self._last_line: float | None = None
        self._unreported = 0  # failures not yet in any line
        self._failures = 0  # in this episode

    @property
    def failing(self) -> bool:
        return self.failing_since is not None

    def failed(self, exc: BaseException, during: str) -> None:
        """Note one failure of `during` (`POST /v1/cs/configs`, `history clean-up`, ...)."""
        now = self.clock()
        if self.failing_since is None:
            self.failing_since, self._failures = now, 1
            self._logged = self._last_line is None or now - self._last_line >= self.period
            if self._logged:
                self._first_line(exc, during, now)
                return
        else:
            self._failures += 1
        self._unreported += 1
        if self._last_line is not None and now - self._last_line >= self.period:
            self._summary_line(exc, now)

    def succeeded(self) -> None:
        """A write went through: end the episode (with a line if any line told of it)."""
        if self.failing_since is None:
            return
        if self._logged:
            log.info(
                "storage works again: %s answers after %.1f s; %d operations failed meanwhile",
                self._name(),
                self.clock() - self.failing_since,
                self._failures,
            )
            self._unreported = 0
        self.failing_since = None

    def _first_line(self, exc: BaseException, during: str, now: float) -> None:
        earlier = f" ({self._unreported} earlier failures not logged)" if self._unreported else ""
        log.error(
            "storage error on %s: %s%s; clients get %r, further failures are summed up every %.0f s",
            during,
            self._cause(exc),
            earlier,
            STORAGE_ERROR.split(";")[0],
            self.period,
        )
        self._last_line = now
        self._unreported = 0

    def _summary_line(self, exc: BaseException, now: float) -> None:
        since = now - (self._last_line or now)
        log.error(
            "storage still failing: %d more failures in the last %.0f s; last: %s",
            self._unreported,
            since,
            self._cause(exc),
        )
        self._last_line = now
        self._unreported = 0
        self._logged = True

    def _cause(self, exc: BaseException) -> str:
        if self.database is not None:
            return self.database.cause(exc)
        return Database("database", "").message(exc)

    def _name(self) -> str:
        return str(self.database) if self.database is not None else "the database"


_health: weakref.WeakKeyDictionary[Engine, StorageHealth] = weakref.WeakKeyDictionary()


def health_of(engine: AsyncEngine) -> StorageHealth:
    """The engine's `StorageHealth`, made on first use; it hears of every successful write statement."""
    sync_engine = engine.sync_engine
    found = _health.get(sync_engine)
    if found is None:
        found = _health[sync_engine] = StorageHealth(Database.of(engine.url))
        event.listen(sync_engine, "after_cursor_execute", _on_statement(found))
    return found


def _on_statement(health: StorageHealth) -> Callable[..., None]:
    def after_cursor_execute(_conn: Any, _cursor: Any, _sql: Any, _params: Any, context: Any, _many: Any) -> None:
        if health.failing_since is None:
            return  # the usual case, on every statement: one attribute read
        if context is not None and (context.isinsert or context.isupdate or context.isdelete):
            health.succeeded()

    return after_cursor_execute


def report(engine: AsyncEngine, exc: BaseException, during: str) -> bool:
    """Report `exc` to the engine's health if it is a storage error (True), so the caller logs no traceback."""
    if not is_storage_error(exc):
        return False
    health_of(engine).failed(exc, during)
    return True
