"""The nacos/nacos-server image's database variables (spec F.3.2): a compose file written for Nacos
starts pynacos against the same MySQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from pynacos.server import settings as settings_module
from pynacos.server.settings import DOCKER_DB_PARAM, SettingsError
from pynacos.server.storage.engine import database_url
from tests.conftest import asgi_client
from tests.server.storage.conftest import DB, fresh, start

#: the env file of nacos-docker's example/standalone-mysql-8.yaml, trimmed to the database
COMPOSE = {
    "MODE": "standalone",
    "SPRING_DATASOURCE_PLATFORM": "mysql",
    "MYSQL_SERVICE_HOST": "mysql",
    "MYSQL_SERVICE_DB_NAME": "nacos_devtest",
    "MYSQL_SERVICE_PORT": "3306",
    "MYSQL_SERVICE_USER": "nacos",
    "MYSQL_SERVICE_PASSWORD": "nacos",
    "MYSQL_SERVICE_DB_PARAM": "characterEncoding=utf8&connectTimeout=1000&allowPublicKeyRetrieval=true",
}


def test_the_compose_variables_make_the_database_url_user_and_password(tmp_path: Path) -> None:
    loaded = settings_module.load(tmp_path, environ=COMPOSE)
    assert loaded.storage == "mysql"
    params = COMPOSE["MYSQL_SERVICE_DB_PARAM"]
    assert loaded.db_url == f"jdbc:mysql://mysql:3306/nacos_devtest?{params}"
    assert (loaded.db_user, loaded.db_password, loaded.db_num) == ("nacos", "nacos", 1)
    url = database_url(loaded)
    assert (url.drivername, url.host, url.port, url.database) == ("mysql+asyncmy", "mysql", 3306, "nacos_devtest")
    assert (url.username, url.password) == ("nacos", "nacos")


def test_unset_port_and_params_take_the_image_defaults(tmp_path: Path) -> None:
    environ = {"MYSQL_SERVICE_HOST": "db", "MYSQL_SERVICE_DB_NAME": "nacos", "MYSQL_DATABASE_NUM": "1"}
    loaded = settings_module.load(tmp_path, environ=environ)
    assert loaded.db_url == f"jdbc:mysql://db:3306/nacos?{DOCKER_DB_PARAM}"
    assert loaded.storage == "sqlite", "as the image: no SPRING_DATASOURCE_PLATFORM, embedded storage"


def test_pynacos_variables_and_properties_file(tmp_path: Path) -> None:
    """PYNACOS_DB_* name the setting itself and win; without a host the Docker variables are not used."""
    environ = {**COMPOSE, "PYNACOS_DB_URL": "jdbc:mysql://other/x", "PYNACOS_DB_USER": "me"}
    loaded = settings_module.load(tmp_path, environ=environ)
    assert (loaded.db_url, loaded.db_user, loaded.db_password) == ("jdbc:mysql://other/x", "me", "nacos")
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "application.properties").write_text(
        "db.url.0=jdbc:mysql://file/y\ndb.pool.config.connectionTimeout=5000\n"
    )
    loaded = settings_module.load(tmp_path, environ={"MYSQL_SERVICE_USER": "u"})
    assert (loaded.db_url, loaded.db_user, loaded.db_connection_timeout_ms) == ("jdbc:mysql://file/y", "u", 5000)


def test_a_bad_pool_timeout_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="DB_POOL_CONNECTION_TIMEOUT has the value 'soon'"):
        settings_module.load(tmp_path, environ={"DB_POOL_CONNECTION_TIMEOUT": "soon"})


async def test_the_compose_variables_start_pynacos_on_mariadb(tmp_path: Path) -> None:
    await fresh("mysql")
    environ = {
        **COMPOSE,
        "MYSQL_SERVICE_HOST": "127.0.0.1",
        "MYSQL_SERVICE_DB_NAME": DB,
        "MYSQL_SERVICE_USER": "root",
        "MYSQL_SERVICE_PASSWORD": "",
        "DB_POOL_CONNECTION_TIMEOUT": "4000",
    }
    app = await start(settings_module.load(tmp_path, environ=environ))
    try:
        assert app.engine is not None and app.engine.pool.timeout() == 4.0  # type: ignore[attr-defined]
        async with asgi_client(app) as client:
            form = {"dataId": "d", "group": "G", "content": "on MariaDB"}
            assert (await client.post("/v1/cs/configs", data=form)).text == "true"
            assert (await client.get("/v1/cs/configs", params={"dataId": "d", "group": "G"})).text == "on MariaDB"
    finally:
        await app.stop()
