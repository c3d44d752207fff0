def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_home_page_for_logged_in_user(world, client_for):
    response = client_for(world.pharmacist).get("/")
    assert response.status_code == 200
    assert "Content-Security-Policy" in response
