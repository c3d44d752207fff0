"""Imports run one way: the home app sits on top of every app, and the shared web helpers sit under them.

Read from the source with ast (nothing is imported), so a lazy import inside a function counts too."""

import ast
from pathlib import Path

import jicai

ROOT = Path(jicai.__file__).parent
# The project wiring may name the home app; nothing else may.
MAY_IMPORT_HOME = {"urls.py", "settings.py"}
# What the shared page helpers may build on: the helpers without business rules and the accounts app
# (menus are chosen by role). Anything more and jicai/web would again depend on the apps that use it.
WEB_MAY_IMPORT = {"jicai.core", "jicai.accounts", "jicai.web"}


def imported_modules(path: Path) -> set[str]:
    """Absolute module names a file imports (`from jicai.x import y` gives both jicai.x and jicai.x.y)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def project_files(*, under: Path = ROOT) -> list[Path]:
    return sorted(p for p in under.rglob("*.py") if "migrations" not in p.parts)


def is_in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_imported_modules_sees_every_form_of_import(tmp_path):
    source = tmp_path / "m.py"
    source.write_text(
        "import jicai.home.views\nfrom jicai.home import queries\nfrom . import local\n"
        "def f():\n    from jicai import home\n",
        encoding="utf-8",
    )
    assert imported_modules(source) == {
        "jicai.home.views",
        "jicai.home",
        "jicai.home.queries",
        "jicai",
    }


def test_no_app_imports_the_home_app():
    offenders = []
    for path in project_files():
        relative = path.relative_to(ROOT)
        if relative.parts[0] == "home" or str(relative) in MAY_IMPORT_HOME:
            continue
        # `from jicai import home` shows up as the module jicai.home.
        bad = sorted(m for m in imported_modules(path) if is_in(m, "jicai.home"))
        if bad:
            offenders.append(f"{relative}: {', '.join(bad)}")
    assert offenders == []


def test_home_app_is_wired_in_settings_and_urls():
    assert "jicai.home.urls" in (ROOT / "urls.py").read_text(encoding="utf-8")
    from django.conf import settings

    assert "jicai.home" in settings.INSTALLED_APPS


def test_shared_web_helpers_import_no_business_app():
    offenders = []
    for path in project_files(under=ROOT / "web"):
        for module in sorted(imported_modules(path)):
            if is_in(module, "jicai") and module != "jicai":
                if not any(is_in(module, allowed) for allowed in WEB_MAY_IMPORT):
                    offenders.append(f"{path.relative_to(ROOT)}: {module}")
    assert offenders == []


def test_home_pages_and_their_queries_left_the_web_app():
    assert not (ROOT / "web" / "views.py").read_text(encoding="utf-8").count("def home")
    assert not (ROOT / "web" / "queries.py").exists()
    assert not list((ROOT / "web" / "templates" / "web").glob("home_part_*.html"))
