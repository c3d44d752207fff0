"""Shared by the benches that drive a real server: start `jicai serve` on 127.0.0.1 and wait until a
probe path answers 200."""

import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
JICAI = str(Path(sys.executable).with_name("jicai"))


def start_server(env: dict, port: int, extra: list[str], probe: str = "/login/") -> subprocess.Popen:
    """`jicai serve --host 127.0.0.1 --port PORT` plus `extra` arguments, in `env`; gives up after 60 s
    with the server's last error output."""
    command = [JICAI, "serve", "--host", "127.0.0.1", "--port", str(port), *extra]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=5).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit("server did not start: " + server.stderr.read().decode()[-2000:])
