"""Authentication and sessions (OWASP ASVS level 1), security headers and bounded input, tried at
the request level as an attacker would: guessing passwords, probing user names by timing, replaying
a cookie after sign-out, oversized ids and fields, non-finite clip times."""

from __future__ import annotations

import statistics
import time

import pytest
from sqlalchemy import select
from webhelp import PASSWORDS, csrf_token, login, post_json

from qa_scoring.store.models import AuditEntry, LoginSession, User

COOKIE = "qa_session"


def _attempt(client, username: str, password: str):
    token = csrf_token(client)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def _settings(app):
    return app.config["QA_SETTINGS"]


def _audit_actions(app) -> list[str]:
    from web.db import get_db

    with app.app_context():
        return [e.action for e in get_db().scalars(select(AuditEntry).order_by(AuditEntry.id))]


# --------------------------------------------------------------------------- 6: brute force


def test_repeated_wrong_passwords_lock_the_account_even_for_the_right_one(client, app):
    settings = _settings(app)
    for _ in range(settings.login_max_failures - 1):
        assert _attempt(client, "qa", "wrong-guess").status_code == 401
    locked = _attempt(client, "qa", "wrong-guess")
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) >= 1
    assert "Too many failed sign-in attempts" in locked.get_data(as_text=True)
    # While locked, even the right password is refused: a guesser learns nothing from the answer.
    assert _attempt(client, "qa", PASSWORDS["qa"]).status_code == 429
    assert "login_locked" in _audit_actions(app)
    # Other accounts are not locked by one account's failures.
    assert _attempt(client, "leader", PASSWORDS["leader"]).status_code == 302


def test_the_lock_ends_with_time_and_grows_with_further_failures(client, app):
    settings = _settings(app)
    settings.login_lock_s = 0.4
    for _ in range(settings.login_max_failures):
        _attempt(client, "qa", "wrong-guess")
    assert _attempt(client, "qa", PASSWORDS["qa"]).status_code == 429
    time.sleep(0.5)
    # One more failure after the first lock earns a lock twice as long.
    assert _attempt(client, "qa", "wrong-again").status_code == 429
    time.sleep(0.5)
    assert _attempt(client, "qa", PASSWORDS["qa"]).status_code == 429
    time.sleep(0.4)
    assert _attempt(client, "qa", PASSWORDS["qa"]).status_code == 302


def test_an_admin_unlocks_an_account_and_it_is_audited(app):
    settings = _settings(app)
    attacker, admin = app.test_client(), app.test_client()
    for _ in range(settings.login_max_failures):
        _attempt(attacker, "qa", "wrong-guess")
    token = login(admin, "admin")
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "sign-in locked" in page
    from web.db import get_db

    with app.app_context():
        qa_id = get_db().scalar(select(User.id).where(User.username == "qa"))
    assert admin.post(f"/admin/users/{qa_id}/unlock", data={"csrf_token": token}).status_code == 302
    assert "login_unlocked" in _audit_actions(app)
    assert _attempt(app.test_client(), "qa", PASSWORDS["qa"]).status_code == 302


def test_one_client_guessing_across_many_accounts_is_throttled(client, app):
    settings = _settings(app)
    for i in range(settings.login_client_max_failures):
        assert _attempt(client, f"nobody-{i}", "guess").status_code in (401, 429)
    assert _attempt(client, "someone-else", "guess").status_code == 429


# --------------------------------------------------------------------------- 7: user names by timing


def test_unknown_users_take_as_long_as_wrong_passwords(client, app):
    settings = _settings(app)
    settings.login_max_failures = settings.login_client_max_failures = 1000

    def median_seconds(username: str) -> float:
        times = []
        for _ in range(5):
            token = csrf_token(client)
            t0 = time.perf_counter()
            resp = client.post(
                "/login", data={"username": username, "password": "x" * 12, "csrf_token": token}
            )
            times.append(time.perf_counter() - t0)
            assert resp.status_code == 401
        return statistics.median(times)

    known, unknown = median_seconds("qa"), median_seconds("no-such-user")
    assert 0.5 < unknown / known < 2.0, (
        f"wrong password {known * 1000:.0f} ms, unknown user {unknown * 1000:.0f} ms"
    )


# --------------------------------------------------------------------------- 8: sessions end on the server


def _copy_session(src, app):
    copy = app.test_client()
    copy.set_cookie(COOKIE, src.get_cookie(COOKIE).value)
    return copy


def test_a_cookie_copied_before_sign_out_is_dead_after_it(client, app):
    token = login(client, "qa")
    stolen = _copy_session(client, app)
    assert stolen.get("/queue/").status_code == 200
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert stolen.get("/queue/").status_code == 302  # to the login page
    from web.db import get_db

    with app.app_context():
        ended = get_db().scalars(select(LoginSession.ended_reason)).all()
    assert ended == ["signed out"]


@pytest.mark.parametrize("change", ["password", "deactivate"])
def test_password_change_and_deactivation_end_every_session(app, change):
    officer, admin = app.test_client(), app.test_client()
    login(officer, "qa")
    other_browser = app.test_client()
    login(other_browser, "qa")
    token = login(admin, "admin")
    from web.db import get_db

    with app.app_context():
        qa = get_db().scalar(select(User).where(User.username == "qa"))
        form = {"csrf_token": token, "role": qa.role, "active": "on"}
        qa_id = qa.id
    if change == "password":
        form["password"] = "a-brand-new-password"
    else:
        del form["active"]
    assert admin.post(f"/admin/users/{qa_id}", data=form).status_code == 302
    assert officer.get("/queue/").status_code == 302
    assert other_browser.get("/queue/").status_code == 302
    assert admin.get("/queue/").status_code == 200  # the admin's own session is untouched


def test_an_idle_session_expires(client, app, monkeypatch):
    import datetime as dt

    from qa_scoring.store import logins

    idle = _settings(app).session_idle_minutes
    login(client, "qa")
    assert client.get("/queue/").status_code == 200
    # The clock moves on instead of the test sleeping: a loaded CI machine cannot make it flaky.
    later = logins.utcnow() + dt.timedelta(minutes=idle - 1)
    monkeypatch.setattr(logins, "utcnow", lambda: later)
    assert client.get("/queue/").status_code == 200  # still within the idle time
    later = later + dt.timedelta(minutes=idle + 1)  # idle past the limit since last seen
    assert client.get("/queue/").status_code == 302


# --------------------------------------------------------------------------- 9: headers


def test_security_headers_and_no_cache_on_signed_in_pages(client):
    public = client.get("/login")
    csp = public.headers["Content-Security-Policy"]
    script_src = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "frame-ancestors 'none'" in csp
    assert public.headers["X-Content-Type-Options"] == "nosniff"
    assert public.headers["Referrer-Policy"]
    login(client, "qa")
    page = client.get("/queue/")
    assert page.headers["Cache-Control"] == "no-store"
    assert "Content-Security-Policy" in page.headers


def test_favicon(client):
    resp = client.get("/favicon.ico")
    assert resp.status_code == 301
    icon = client.get(resp.headers["Location"])
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"


# --------------------------------------------------------------------------- 10: bad input


def test_ids_beyond_the_store_are_not_found(client):
    login(client, "admin")
    assert client.get("/calls/99999999999999999999999").status_code == 404
    assert client.get("/dashboards/agent/99999999999999999999").status_code == 404
    assert client.get("/queue/?agent=99999999999999999999").status_code == 200
    assert client.get("/clips/?agent=99999999999999999999").status_code == 200


def test_overlong_text_fields_are_refused_and_name_the_field(client, web_seed):
    token = login(client, "qa")
    resp = post_json(
        client,
        f"/calls/{web_seed.timed_call}/decisions",
        token,
        {
            "review_id": 0,
            "version": 0,
            "rubric_id": "x",
            "criterion_id": "y",
            "decision": "override",
            "result": "fail",
            "reason": "r" * 200_000,
        },
    )
    assert resp.status_code == 400
    assert "reason is longer than" in resp.get_data(as_text=True)


def test_non_finite_clip_times_are_refused(client, web_seed):
    token = login(client, "qa")
    for start, end in (("nan", "5"), ("1", "inf"), ("-3", "5"), ("8", "2")):
        resp = client.post(
            "/clips/", data={"call_id": web_seed.timed_call, "start": start, "end": end, "csrf_token": token}
        )
        assert resp.status_code == 400, (start, end)
