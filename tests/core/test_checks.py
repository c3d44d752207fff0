from types import SimpleNamespace

from jicai.core import checks


def _databases(monkeypatch, engine):
    monkeypatch.setattr(checks, "settings", SimpleNamespace(DATABASES={"default": {"ENGINE": engine}}))


def _sqlite(monkeypatch, version):
    monkeypatch.setattr(checks.sqlite3, "sqlite_version_info", version)
    monkeypatch.setattr(checks.sqlite3, "sqlite_version", ".".join(map(str, version)))


def test_sqlite_older_than_3_39_is_refused(monkeypatch):
    _databases(monkeypatch, "django.db.backends.sqlite3")
    _sqlite(monkeypatch, (3, 38, 5))
    [error] = checks.sqlite_version(None)
    assert error.id == "jicai.E001"
    assert error.msg == "SQLite 3.38.5 版本过低，需要 3.39.0 或更高（或通过 DATABASE_URL 使用 PostgreSQL）"
    _sqlite(monkeypatch, (3, 39, 0))
    assert checks.sqlite_version(None) == []


def test_sqlite_version_does_not_matter_on_postgresql(monkeypatch):
    _databases(monkeypatch, "django.db.backends.postgresql")
    _sqlite(monkeypatch, (3, 8, 0))
    assert checks.sqlite_version(None) == []
