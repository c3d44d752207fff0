"""`jicai serve`: the web app on waitress (a production WSGI server), static files through WhiteNoise."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "运行 Web 服务 / run the web app"

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)

    def handle(self, *args, host, port, threads, **options):
        if settings.SECRET_KEY_MISSING:
            raise CommandError(settings.SECRET_KEY_MISSING_MESSAGE)
        from waitress import serve

        from jicai.wsgi import application

        self.stdout.write(f"集采平台已启动: http://{host}:{port}/  (Ctrl+C 停止)")
        serve(application, host=host, port=port, threads=threads, ident="jicai")
