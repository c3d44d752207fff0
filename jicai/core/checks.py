"""System checks (run by `jicai migrate`, `jicai serve` and every management command)."""

import sqlite3

from django.conf import settings
from django.core.checks import Error, register

# UPDATE … FROM (3.33) and FULL JOIN (3.39) are used by the set-based monitoring and import code.
SQLITE_MINIMUM = (3, 39, 0)


@register()
def sqlite_version(app_configs, **kwargs):
    uses_sqlite = any(db["ENGINE"].endswith("sqlite3") for db in settings.DATABASES.values())
    if not uses_sqlite or sqlite3.sqlite_version_info >= SQLITE_MINIMUM:
        return []
    return [
        Error(
            f"SQLite {sqlite3.sqlite_version} 版本过低，需要 {'.'.join(map(str, SQLITE_MINIMUM))} 或更高"
            "（或通过 DATABASE_URL 使用 PostgreSQL）",
            id="jicai.E001",
        )
    ]
