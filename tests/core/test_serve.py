"""`jicai serve` really serves: several gunicorn worker processes answer pages and static files, oversized
headers are refused, and the waitress fallback answers too. Each test starts the server on a free port in
8130-8139 and stops it."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from jicai.core.management.commands.serve import gunicorn_available

ROOT = Path(__file__).resolve().parents[2]
JICAI = str(Path(sys.executable).with_name("jicai"))


def free_port() -> int:
    for port in range(8139, 8129, -1):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip("ports 8130-8139 all busy")


def get(url: str, headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def is_follow_worker(pid: int) -> bool:
    """The real-time worker `serve` starts beside its web processes (`jicai monitor --follow`)."""
    try:
        return b"--follow" in (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return False


def web_children(pid: int) -> list[int]:
    return [c for c in children(pid) if not is_follow_worker(c)]


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def start(*args: str):
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "jicai.settings"}
    process = subprocess.Popen(
        [JICAI, "serve", "--port", str(port), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if get(f"http://127.0.0.1:{port}/login/")[0] == 200:
                return process, port
        except OSError:
            time.sleep(0.3)
    process.kill()
    pytest.fail("serve did not answer in 30 s: " + (process.stdout.read() if process.stdout else ""))


def stop(process) -> str:
    process.send_signal(signal.SIGTERM)
    try:
        out, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return out


@pytest.mark.skipif(not gunicorn_available(), reason="gunicorn runs on POSIX only")
def test_serve_runs_several_worker_processes_and_answers():
    process, port = start("--workers", "2", "--timeout", "20")
    try:
        status, body = get(f"http://127.0.0.1:{port}/login/")
        assert status == 200 and "登录".encode() in body
        assert get(f"http://127.0.0.1:{port}/static/vendor/htmx.min.js")[0] == 200
        assert len(web_children(process.pid)) == 2
        assert len([c for c in children(process.pid) if is_follow_worker(c)]) == 1  # one per installation
        # A header past limit_request_field_size is refused by gunicorn before Django.
        assert get(f"http://127.0.0.1:{port}/login/", {"X-Big": "a" * 9000})[0] == 431
    finally:
        out = stop(process)
    assert process.returncode == 0
    assert "gunicorn，2 个进程 × 4 线程" in out
    assert children(process.pid) == []


def test_serve_waitress_fallback_answers():
    process, port = start("--server", "waitress", "--threads", "2")
    try:
        assert get(f"http://127.0.0.1:{port}/login/")[0] == 200
        assert web_children(process.pid) == []
    finally:
        out = stop(process)
    assert "waitress，1 个进程 × 2 线程" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--workers", "0"], "--workers 至少为 1"),
        (["--threads", "0"], "--threads 至少为 1"),
        (["--timeout", "0"], "--timeout 至少为 1 秒"),
    ],
)
def test_serve_rejects_bad_settings(args, message):
    result = subprocess.run(
        [JICAI, "serve", "--port", "8139", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and message in result.stderr
