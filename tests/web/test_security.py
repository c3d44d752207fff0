"""Login throttling, CSRF, CSP, session timeout and the 404 page."""

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import PASSWORD
from tests.web.helpers import assert_csp_clean, html

pytestmark = pytest.mark.django_db


def login(client, username, password):
    return client.post("/login/", {"username": username, "password": password})


def test_login_form_logs_in_and_redirects_home(world):
    client = Client()
    response = login(client, "hc_pharmacy", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"
    assert "威海市环翠区人民医院" in html(client.get("/"))


def test_wrong_password_shows_chinese_error(world):
    response = login(Client(), "hc_pharmacy", "wrong-password")
    assert response.status_code == 200 and "用户名或密码错误" in html(response)


def test_five_bad_passwords_lock_the_account_and_the_right_one_is_refused(world):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "hc_pharmacy", "wrong-password")
    response = login(client, "hc_pharmacy", PASSWORD)
    assert response.status_code == 429
    assert "登录失败次数过多" in html(response)
    assert client.get("/").status_code == 302  # not logged in


def test_four_bad_passwords_do_not_lock(world):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, "hc_pharmacy", "wrong-password")
    assert login(client, "hc_pharmacy", PASSWORD).status_code == 302


def test_login_without_csrf_token_is_refused(world):
    client = Client(enforce_csrf_checks=True)
    response = login(client, "hc_pharmacy", PASSWORD)
    assert response.status_code == 403
    assert client.get("/").status_code == 302


def test_login_with_csrf_token_works(world):
    client = Client(enforce_csrf_checks=True)
    client.get("/login/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/login/", {"username": "hc_pharmacy", "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302


def test_logout_needs_post_with_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.pharmacist)
    assert client.get("/").status_code == 200  # renders the logout form, which sets the CSRF cookie
    assert client.post("/logout/").status_code == 403
    assert client.get("/").status_code == 200  # still logged in
    response = client.post("/logout/", {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert client.get("/").status_code == 302


def test_session_expires_after_thirty_idle_minutes(world):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    client = Client()
    login(client, "hc_pharmacy", PASSWORD)
    assert client.session.get_expiry_age() == 30 * 60
    assert settings.SESSION_REFRESH_SECONDS == 60 and settings.SESSION_COOKIE_HTTPONLY


def test_login_page_has_csp_and_no_inline_code(client):
    response = client.get("/login/")
    assert response.status_code == 200
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert_csp_clean(response)


def test_out_of_scope_page_renders_chinese_404_page(world, client_for):
    response = client_for(world.pharmacist).get("/registry/institutions/H37020200001/")
    assert response.status_code == 404
    body = html(response)
    assert "未找到该页面或记录" in body and "青岛市市南区人民医院" not in body
    assert "Content-Security-Policy" in response
