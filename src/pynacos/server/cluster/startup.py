"""What cluster mode refuses to start without, each refusal naming the fix.

- SQLite: each node would have its own database; the cluster's only shared state is the database.
- No server identity (key and value): every inter-node route needs it, whether auth is on or off (Nacos
  2.5.1 refuses only with auth on, error 50002; its wording is kept, with pynacos's hint after it).
- An unusable identity value or token secret: the same checks as auth on (auth/system.py), because node
  identity and tokens that work on every node need both whatever `nacos.core.auth.enabled` says.
- An empty or unreadable member list (members.py).
"""

from __future__ import annotations

from pynacos.server.settings import Settings, SettingsError

NEEDS_DATABASE = (
    "cluster mode needs a shared MySQL/MariaDB or PostgreSQL database: set spring.sql.init.platform=mysql "
    "(or postgresql) and db.url.0, db.user.0, db.password.0 (Docker: SPRING_DATASOURCE_PLATFORM and "
    "MYSQL_SERVICE_*) to the same database on every node; SQLite is for standalone mode only."
)
EMPTY_IDENTITY = (
    "ErrCode:50002, ErrMsg:Empty identity, Please set `nacos.core.auth.server.identity.key` and "
    "`nacos.core.auth.server.identity.value`, detail: https://nacos.io/docs/latest/manual/admin/auth/ "
    "(pynacos: cluster mode needs them whether auth is on or off, the same on every node; "
    "`pynacos secret` prints a value to use)."
)
EMPTY_MEMBERS = (
    "cluster mode needs the member list: write conf/cluster.conf (one host:port per line) or set "
    "nacos.member.list (MEMBER_LIST), the same on every node."
)


def check_cluster(settings: Settings) -> None:
    """SettingsError with the fix when cluster mode cannot start with these settings."""
    from pynacos.server.auth import system
    from pynacos.server.cluster.members import read_member_list

    if settings.storage == "sqlite":
        raise SettingsError(NEEDS_DATABASE)
    if not settings.identity_key or not settings.identity_value:
        raise SettingsError(EMPTY_IDENTITY)
    system.check(settings.replace(auth_enabled=True))
    if not read_member_list(settings):
        raise SettingsError(EMPTY_MEMBERS)
