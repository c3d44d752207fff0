"""Login page (the shared sign-in every role uses); the role home pages live in jicai.home."""

from django.contrib.auth import views as auth_views

from jicai.web.forms import LoginForm


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True
