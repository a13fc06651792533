"""Login, sessions, CSRF and role checks on every route."""

from __future__ import annotations

from webhelp import PASSWORDS, csrf_token, login


def test_login_page_and_wrong_password(client):
    token = csrf_token(client)
    resp = client.post("/login", data={"username": "qa", "password": "wrong", "csrf_token": token})
    assert resp.status_code == 401
    assert "wrong password" in resp.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client):
    resp = client.post("/login", data={"username": "qa", "password": PASSWORDS["qa"]})
    assert resp.status_code == 400


def test_login_sets_secure_session_cookie_and_logout_clears(client, app):
    token = csrf_token(client)
    resp = client.post("/login", data={"username": "qa", "password": PASSWORDS["qa"], "csrf_token": token})
    assert resp.status_code == 302
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/queue/").status_code == 200
    token = csrf_token(client, "/queue/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/queue/").status_code == 302  # back to the login page


def test_passwords_are_hashed(app):
    from sqlalchemy import select

    from qa_scoring.store.models import User
    from web.db import get_db

    with app.app_context():
        for user in get_db().scalars(select(User)):
            assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))
            assert PASSWORDS.get(user.username, "x") not in user.password_hash


def test_open_redirect_is_ignored(client):
    token = csrf_token(client)
    resp = client.post(
        "/login?next=https://evil.example/",
        data={"username": "qa", "password": PASSWORDS["qa"], "csrf_token": token},
    )
    assert resp.headers["Location"].startswith("/")


def test_every_route_declares_roles(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        assert hasattr(view, "allowed_roles"), f"{rule.rule} has no role check"


def test_anonymous_is_sent_to_login_and_json_gets_401(client, web_seed):
    assert client.get(f"/calls/{web_seed.timed_call}").status_code == 302
    assert client.post(f"/calls/{web_seed.timed_call}/decisions", json={}).status_code in (400, 401)


def test_role_checks(client, web_seed):
    login(client, "agent")
    assert client.get("/admin/users").status_code == 403
    assert client.get("/dashboards/calibration").status_code == 403
    login(client, "admin")
    assert client.get("/admin/users").status_code == 200
    assert client.get("/admin/rubrics").status_code == 200


def test_agent_sees_only_own_calls(client, web_seed):
    login(client, "agent2")  # linked to agent 2, who has one dev call
    html = client.get("/queue/?status=all").get_data(as_text=True)
    assert "1 call" in html
    own = web_seed.dev_calls[1]
    assert client.get(f"/calls/{own}").status_code == 200
    assert client.get(f"/calls/{web_seed.timed_call}").status_code == 403
    assert client.get(f"/calls/{web_seed.timed_call}/audio").status_code == 403


def test_users_cli_adds_and_lists(tmp_path, web_settings, monkeypatch):
    from click.testing import CliRunner

    from qa_scoring.cli import main
    from qa_scoring.config import get_settings

    monkeypatch.setenv("QA_SCORING_DATABASE_URL", web_settings.database_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        result = runner.invoke(
            main,
            ["users", "add", "newqa", "--role", "qa_officer", "--password-stdin"],
            input="a-long-password\n",
        )
        assert result.exit_code == 0, result.output
        result = runner.invoke(
            main, ["users", "add", "short", "--role", "agent", "--password-stdin"], input="x\n"
        )
        assert result.exit_code != 0 and "8 characters" in result.output
        listing = runner.invoke(main, ["users", "list"])
        assert "newqa\tqa_officer" in listing.output
    finally:
        get_settings.cache_clear()
        from qa_scoring.store.db import dispose_engines

        dispose_engines()
