"""`jicai serve`: the web app on every core, static files through WhiteNoise.

On Linux/macOS it runs gunicorn with one worker process per CPU (one waitress process holds the GIL and so
one core: 108 requests/s at 200 users on the demo). Each worker has a few threads, so a request waiting on
the database does not hold its worker. Where gunicorn cannot run (Windows) or with `--server waitress`,
it falls back to waitress, pure Python, one process.

Limits: a worker silent for `--timeout` seconds is killed and replaced; request line and headers are
bounded (gunicorn's limit_request_*; waitress's max_request_header_size); the request body is bounded by
Django (DATA_UPLOAD_MAX_MEMORY_SIZE for forms, FILE_UPLOAD_MAX_MEMORY_SIZE before spooling to disk) and,
on waitress, by max_request_body_size."""

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

# Request line and header limits (bytes / count): generous for browsers and API clients, small enough
# that an oversized header is refused before Django sees it.
MAX_REQUEST_LINE = 8190
MAX_HEADER_FIELDS = 100
MAX_HEADER_FIELD_SIZE = 8190
# Largest request body waitress accepts: an import file (see jicai.ingest) plus form overhead.
MAX_REQUEST_BODY = 200 * 1024 * 1024


def default_workers() -> int:
    return int(os.environ.get("JICAI_WORKERS") or os.cpu_count() or 1)


def gunicorn_available() -> bool:
    if os.name != "posix":
        return False
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        return False
    return True


def start_realtime():
    """`jicai monitor --follow` as a child process (its own database connection, not forked with the
    web workers): it applies committed writes to facts and alerts within a second (monitoring.realtime)."""
    import subprocess
    import sys

    # --parent: the worker stops by itself when the server is gone, however the server ended (SIGTERM, kill).
    command = [sys.executable, "-m", "jicai.cli", "monitor", "--follow", "--parent", str(os.getpid())]
    return subprocess.Popen(command, env=os.environ.copy())


class Command(BaseCommand):
    help = "运行 Web 服务 / run the web app"

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--server",
            choices=["auto", "gunicorn", "waitress"],
            default="auto",
            help="auto：能用 gunicorn 时用 gunicorn（多进程），否则 waitress",
        )
        parser.add_argument(
            "--workers", type=int, default=None, help="工作进程数，默认为 CPU 核数（JICAI_WORKERS）"
        )
        parser.add_argument(
            "--threads", type=int, default=None, help="每个进程的线程数（gunicorn 4，waitress 8）"
        )
        parser.add_argument("--timeout", type=int, default=60, help="请求超时秒数")
        parser.add_argument(
            "--no-realtime",
            action="store_true",
            help="不启动实时监测进程（另行运行 jicai monitor --follow 时使用）",
        )

    def handle(self, *args, host, port, server, workers, threads, timeout, no_realtime=False, **options):
        if settings.SECRET_KEY_MISSING:
            raise CommandError(settings.SECRET_KEY_MISSING_MESSAGE)
        if workers is not None and workers < 1:
            raise CommandError("--workers 至少为 1")
        if threads is not None and threads < 1:
            raise CommandError("--threads 至少为 1")
        if timeout < 1:
            raise CommandError("--timeout 至少为 1 秒")
        if server == "auto":
            server = "gunicorn" if gunicorn_available() else "waitress"
        elif server == "gunicorn" and not gunicorn_available():
            raise CommandError(
                "此系统无法运行 gunicorn（需要 Linux/macOS 且已安装 gunicorn），请用 --server waitress"
            )
        # Start-up checks may have opened a connection; forked workers must not share it.
        connections.close_all()
        # Real time (SPEC §13): one worker process for the installation, stopped with the server.
        follower = None if no_realtime else start_realtime()
        try:
            if server == "gunicorn":
                self._gunicorn(host, port, workers or default_workers(), threads or 4, timeout)
            else:
                self._waitress(host, port, threads or 8, timeout)
        finally:
            if follower is not None:
                follower.terminate()
                follower.wait(10)

    def _gunicorn(self, host, port, workers, threads, timeout):
        from gunicorn.app.base import BaseApplication

        options = {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "gthread",
            "threads": threads,
            "timeout": timeout,
            "graceful_timeout": 30,
            "keepalive": 5,
            "limit_request_line": MAX_REQUEST_LINE,
            "limit_request_fields": MAX_HEADER_FIELDS,
            "limit_request_field_size": MAX_HEADER_FIELD_SIZE,
            # Each worker imports the app itself: no database connection or thread is shared across fork.
            "preload_app": False,
            "proc_name": "jicai",
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
        }

        class JicaiApplication(BaseApplication):
            def load_config(self):
                for key, value in options.items():
                    self.cfg.set(key, value)

            def load(self):
                from jicai.wsgi import application

                return application

        self.stdout.write(
            f"集采平台已启动: http://{host}:{port}/  (gunicorn，{workers} 个进程 × {threads} 线程；Ctrl+C 停止)"
        )
        self.stdout.flush()
        JicaiApplication().run()

    def _waitress(self, host, port, threads, timeout):
        from waitress import serve

        from jicai.wsgi import application

        self.stdout.write(
            f"集采平台已启动: http://{host}:{port}/  (waitress，1 个进程 × {threads} 线程；Ctrl+C 停止)"
        )
        self.stdout.flush()
        serve(
            application,
            host=host,
            port=port,
            threads=threads,
            ident="jicai",
            channel_timeout=timeout,
            max_request_header_size=MAX_REQUEST_LINE + MAX_HEADER_FIELDS * MAX_HEADER_FIELD_SIZE // 8,
            max_request_body_size=max(MAX_REQUEST_BODY, settings.DATA_UPLOAD_MAX_MEMORY_SIZE),
        )
