from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "jicai.core"
    label = "core"
    verbose_name = "基础"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from jicai.core import checks  # noqa: F401  (registers the system checks)
        from jicai.core.middleware import SessionRefreshMiddleware

        # Signing in saves the session: that counts as its first refresh.
        user_logged_in.connect(SessionRefreshMiddleware.stamp, dispatch_uid="jicai-session-refresh-stamp")
