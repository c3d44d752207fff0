"""No fixed secret (issue 15, SPEC §9): production refuses to start without JICAI_SECRET_KEY; local and demo
use get a random key generated once into the data folder and reused."""

import os
import stat
import subprocess
import sys

from jicai import settings as project_settings
from jicai.settings import local_secret_key

PRINT_KEY = "from django.conf import settings; print(settings.SECRET_KEY)"


def run_python(code_or_args, env: dict, *, module: bool = False) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", *code_or_args] if module else [sys.executable, "-c", code_or_args]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)


def base_env(tmp_path) -> dict:
    return {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "jicai.settings",
        "JICAI_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }


def test_no_fixed_key_is_left_in_the_settings():
    source = open(project_settings.__file__, encoding="utf-8").read()
    assert "change-me" not in source and "jicai-local-development-key" not in source


def test_local_key_is_random_generated_once_private_and_reused(tmp_path):
    first = local_secret_key(tmp_path)
    path = tmp_path / "secret_key"
    assert len(first) >= 50 and path.read_text() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert local_secret_key(tmp_path) == first
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary file left behind
    other = tmp_path / "other"
    assert local_secret_key(other) != first  # another data folder, another random key


def test_two_processes_of_one_data_folder_share_its_key(tmp_path):
    env = base_env(tmp_path)
    keys = {run_python(PRINT_KEY, env).stdout.strip() for _ in range(2)}
    assert len(keys) == 1 and keys == {(tmp_path / "secret_key").read_text()}


def test_environment_key_wins_and_writes_no_file(tmp_path):
    env = {**base_env(tmp_path), "JICAI_SECRET_KEY": "k" * 60}
    assert run_python(PRINT_KEY, env).stdout.strip() == "k" * 60
    assert not (tmp_path / "secret_key").exists()


def test_production_serve_without_key_refuses_to_start(tmp_path):
    env = {**base_env(tmp_path), "JICAI_ENV": "production"}
    result = run_python(["jicai.cli", "serve", "--port", "8149"], env, module=True)
    assert result.returncode == 1
    assert "生产模式（JICAI_ENV=production）必须设置环境变量 JICAI_SECRET_KEY" in result.stderr
    assert "集采平台已启动" not in result.stdout
    assert not (tmp_path / "secret_key").exists()  # production never falls back to a file key
    # Another WSGI server importing the application is refused the same way.
    wsgi = run_python("import jicai.wsgi", env)
    assert wsgi.returncode != 0 and "JICAI_SECRET_KEY" in wsgi.stderr


def test_production_with_a_key_loads_the_application(tmp_path):
    env = {**base_env(tmp_path), "JICAI_ENV": "production", "JICAI_SECRET_KEY": "p" * 60}
    result = run_python(
        "import jicai.wsgi; from django.conf import settings; print(settings.SECRET_KEY)", env
    )
    assert result.returncode == 0 and result.stdout.strip() == "p" * 60


def test_the_running_test_settings_use_the_data_folder_key():
    key_file = project_settings.DATA_DIR / "secret_key"
    if os.environ.get("JICAI_SECRET_KEY"):
        assert project_settings.SECRET_KEY == os.environ["JICAI_SECRET_KEY"]
    else:
        assert project_settings.SECRET_KEY == key_file.read_text().strip()
