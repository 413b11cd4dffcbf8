"""Logging a test client in through the dashboard's real login form."""

from __future__ import annotations

from dashboard_client import TOKEN


def login(client, username: str, password: str):
    form = client.get("/login")
    token = TOKEN.search(form.text).group(1)
    response = client.post("/login", data={"username": username, "password": password, "next": "/",
                                           "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303, response.text
