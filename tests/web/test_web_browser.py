"""The review flow in a real browser: Debian's Chromium driven by Playwright against the app
served by waitress on loopback. Screenshots go to test-artifacts/web/ (git-ignored)."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
]


@pytest.fixture
def browser():
    if not CHROMIUM.is_file():
        message = f"{CHROMIUM} missing: apt-get install -y chromium chromium-driver"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true requires the browser tests)")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_url(app):
    from waitress.server import create_server

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = create_server(app, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.close()


def _wait_until(page, expression: str, timeout: float = 30000) -> None:
    """Poll a JavaScript expression until it is true. Playwright's wait_for_function evaluates its
    predicate with eval() inside the page, which the app's Content-Security-Policy forbids (as it
    should); page.evaluate goes through the DevTools protocol instead."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not true after {timeout / 1000:.0f} s: {expression}")
        time.sleep(0.05)


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_login_review_override_seek_and_clip(browser, live_url, app, web_seed):
    from webhelp import PASSWORDS

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    outside: list[str] = []
    page.on(
        "request",
        lambda r: None if r.url.startswith(live_url) or r.url.startswith("data:") else outside.append(r.url),
    )
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)

    # Login (wrong password first, then right).
    page.goto(f"{live_url}/login")
    page.fill("#username", "qa")
    page.fill("#password", "nope")
    page.click("button[type=submit]")
    assert "wrong password" in page.inner_text("#login-error")
    page.fill("#username", "qa")
    page.fill("#password", PASSWORDS["qa"])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/queue/"))
    _shot(page, "01-queue")

    # Open the timed call from the queue.
    page.click(f"a[href='/calls/{web_seed.timed_call}']")
    page.wait_for_selector("#lanes")
    _wait_until(page, "document.getElementById('audio').readyState >= 1", timeout=15000)
    _shot(page, "02-call")

    # Audio seek from an evidence quote: the player jumps there and the turn is highlighted.
    page.evaluate("document.querySelectorAll('details.card').forEach(function (d) { d.open = true; })")
    evidence = page.locator("button.ev[data-s]").first
    target = float(evidence.get_attribute("data-s"))
    turn = evidence.get_attribute("data-turn")
    evidence.click()
    _wait_until(
        page, f"Math.abs(document.getElementById('audio').currentTime - {target}) < 0.75", timeout=10000
    )
    page.evaluate("document.getElementById('audio').pause()")
    page.wait_for_selector(f"#turn-{turn}.now, #turn-{turn} .w.now", timeout=5000)
    _shot(page, "03-seek-from-evidence")

    # Keyboard: J focuses the first criterion, A accepts it (saved by fetch, no reload).
    page.locator("h1").click()
    page.keyboard.press("j")
    first = page.locator("li.crit.current")
    first_id = first.get_attribute("id")
    page.keyboard.press("a")
    page.wait_for_selector(f"#{first_id}.decided")
    assert "Accepted by qa" in page.inner_text(f"#{first_id} .decision")

    # Override the next criterion with a reason.
    second = page.locator("li.crit.current")
    second_id = second.get_attribute("id")
    assert second_id != first_id
    second.locator(".override-open").click()
    auto = second.get_attribute("data-auto")
    new_result = "fail" if auto != "fail" else "pass"
    second.locator("select[name=result]").select_option(new_result)
    second.locator("textarea[name=reason]").fill("Customer was not asked for a second identifier")
    # Point at the turn (optional): a click on a transcript line picks it, and so does Enter on a
    # line (they are focusable while the form is open); the last pick counts.
    page.locator("#turn-2 .text").click()
    assert "picked" in page.get_attribute("#turn-2", "class")
    page.focus("#turn-3")
    page.keyboard.press("Enter")
    assert page.get_attribute("#turn-3", "aria-current") == "true"
    assert "picked" not in page.get_attribute("#turn-2", "class")
    assert "Turn 4 chosen" in second.locator(".picked-turn").inner_text()
    _shot(page, "04-override-point-at-turn")
    second.locator("form.override button[type=submit]").click()
    page.wait_for_selector(f"#{second_id}.decided")
    assert f"Overridden to {new_result}" in page.inner_text(f"#{second_id} .decision")
    assert "pointed at turn 4:" in page.inner_text(f"#{second_id} .decision")
    assert page.get_attribute("#turn-3", "tabindex") is None, "lines are focusable only while pointing"
    _shot(page, "04-override")

    # Both decisions are in the store, with the audit trail.
    from sqlalchemy import select

    from qa_scoring.store.models import AuditEntry, CriterionDecision
    from web.db import get_db

    with app.app_context():
        db = get_db()
        decisions = list(db.scalars(select(CriterionDecision).order_by(CriterionDecision.id)))
        assert [d.decision for d in decisions] == ["accept", "override"]
        assert decisions[1].human_result == new_result and decisions[1].turn == 3
        assert {e.action for e in db.scalars(select(AuditEntry))} >= {"accept", "override"}

    # Make a clip from an evidence item's range (with padding) and play it on the clip page.
    clip_button = page.locator("button.clip-ev").first
    clip_button.click()
    assert float(page.input_value("#clip-start")) == pytest.approx(
        float(clip_button.get_attribute("data-s")), abs=0.01
    )
    page.fill("#clip-note", "Example of a clear explanation")
    _shot(page, "05-clip-form")
    page.click("#clip-form button[type=submit]")
    page.wait_for_url(re.compile(r"/clips/\d+$"))
    _wait_until(page, "document.querySelector('audio').readyState >= 0")
    page.evaluate("document.querySelector('audio').load()")
    _wait_until(
        page,
        "document.querySelector('audio').readyState >= 1 && document.querySelector('audio').duration > 1",
        timeout=10000,
    )
    assert "Example of a clear explanation" in page.content()
    _shot(page, "06-clip")

    assert not outside, f"requests left the machine: {outside}"
    assert not errors, f"JavaScript errors: {errors}"
    page.close()


def _signed_in_page(browser, live_url: str, user: str):
    from webhelp import PASSWORDS

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_url}/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORDS[user])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/queue/"))
    return page


def test_two_officers_each_decide_in_their_own_review_and_the_agent_sees_neither_draft(
    browser, live_url, web_seed
):
    """Integrity: a second officer's decisions are a second review, never edits in the first
    officer's draft; the agent sees no draft and no reviewer controls."""
    call_url = f"{live_url}/calls/{web_seed.dev_calls[0]}"
    first, second = (_signed_in_page(browser, live_url, u) for u in ("qa", "qa2"))
    for page in (first, second):
        page.goto(call_url)
    first.locator("li.crit button.accept").first.click()
    first.wait_for_selector("li.crit.decided")
    # The second officer's page was loaded before the first decision: saving still works, into
    # the second officer's own review.
    second.locator("li.crit button.accept").first.click()
    second.wait_for_selector("li.crit.decided")
    assert "bad" not in (second.get_attribute("#save-status", "class") or "")
    for page in (first, second):
        page.reload()
    reviews_of = {name: page.inner_text("ul.reviews") for name, page in (("qa", first), ("qa2", second))}
    assert "qa (draft) · shown" in reviews_of["qa"] and "qa2 (draft)" in reviews_of["qa"]
    assert "qa2 (draft) · shown" in reviews_of["qa2"]
    assert first.locator("li.crit.decided").count() == 1
    _shot(second, "07-second-opinion")

    agent = _signed_in_page(browser, live_url, "agent")
    agent.goto(call_url)
    assert agent.locator("ul.reviews").count() == 0  # drafts only: nothing submitted to show
    assert agent.locator("li.crit.decided").count() == 0
    assert "Keys:" not in agent.content()


def _review_in_browser(page, call_url: str) -> None:
    """Accept everything the page offers and submit (the officer's whole review, by the buttons)."""
    page.goto(call_url)
    if page.locator("form[action$='/reviews/new'] button").count():
        page.click("form[action$='/reviews/new'] button")
        page.wait_for_load_state()
    page.evaluate("document.querySelectorAll('details.card').forEach(function (d) { d.open = true; })")
    for button in page.locator("button.accept-rest").all():
        with page.expect_response(lambda r: r.url.endswith("/accept-remaining")) as answer:
            button.click()
        assert answer.value.ok, answer.value.text()
    with page.expect_response(lambda r: r.url.endswith("/submit")) as answer:
        page.click("#submit-review")
    assert answer.value.ok, answer.value.text()
    page.wait_for_selector("text=Review submitted by")


def test_a_second_submitted_review_is_kept_and_which_stands_is_chosen_with_a_reason(
    browser, live_url, web_seed
):
    call_url = f"{live_url}/calls/{web_seed.dev_calls[1]}"
    first, second = (_signed_in_page(browser, live_url, u) for u in ("qa", "qa2"))
    _review_in_browser(first, call_url)
    _review_in_browser(second, call_url)
    reviews = second.inner_text("ul.reviews")
    assert reviews.count("(submitted") == 2 and reviews.count("standing") == 1
    first_id = second.locator("ul.reviews li").first.get_attribute("id").removeprefix("review-")
    second.fill(f"#review-{first_id} input[name=reason]", "calibration panel sided with the first review")
    second.click(f"#review-{first_id} button[type=submit]")
    second.wait_for_selector(f"#review-{first_id} strong:has-text('standing')")
    second.click("summary:has-text('Standing review history')")
    assert "calibration panel sided" in second.inner_text("details")
    _shot(second, "08-standing-review")
    agent = _signed_in_page(browser, live_url, "agent2")
    agent.goto(call_url)
    assert agent.inner_text("ul.reviews").count("(submitted") == 2
    assert agent.locator("button.accept-rest").count() == 0


def test_an_agent_appeals_a_leader_decides_and_the_agent_acknowledges(browser, live_url, web_seed):
    call_url = f"{live_url}/calls/{web_seed.dev_calls[1]}"
    _review_in_browser(_signed_in_page(browser, live_url, "qa"), call_url)
    agent = _signed_in_page(browser, live_url, "agent2")
    agent.goto(call_url)
    criterion = agent.locator("#dispute-criterion option").first.get_attribute("value")
    current = agent.locator("#dispute-criterion option").first.inner_text()
    proposed = "fail" if "(fail)" not in current else "pass"
    agent.select_option("#dispute-criterion", criterion)
    agent.select_option("#dispute-result", proposed)
    agent.fill("#dispute-reason", "the customer thanked me for the greeting")
    agent.click("#appeal-form button[type=submit]")
    agent.wait_for_selector("text=Appeal raised")

    leader = _signed_in_page(browser, live_url, "leader")
    leader.goto(call_url)
    form = leader.locator("ul.disputes form").first
    form.locator("select[name=status]").select_option("upheld")
    form.locator("input[name=resolution]").fill("agreed after listening")
    form.locator("button[type=submit]").click()
    leader.wait_for_selector("text=Appeal upheld")
    assert f"{proposed} stands" in leader.inner_text("ul.disputes")
    _shot(leader, "09-appeal-upheld")

    agent.goto(call_url)
    assert "upheld" in agent.inner_text("ul.disputes")
    agent.fill("#ack-comment", "Thanks, understood")
    agent.click("#acknowledge-form button[type=submit]")
    agent.wait_for_selector("#acknowledgement")
    assert "Thanks, understood" in agent.inner_text("#acknowledgement")


def test_conflict_message_in_the_browser(browser, live_url, web_seed):
    """One officer in two tabs: the stale tab is told its decision was not saved."""
    page = _signed_in_page(browser, live_url, "qa")
    call_url = f"{live_url}/calls/{web_seed.dev_calls[0]}"
    page.goto(call_url)
    stale = page.context.new_page()
    stale.goto(call_url)
    page.locator("li.crit button.accept").first.click()
    page.wait_for_selector("li.crit.decided")
    stale.locator("li.crit button.accept").first.click()
    stale.wait_for_selector("#save-status.bad")
    assert "Not saved" in stale.inner_text("#save-status")
    assert "another tab" in stale.inner_text("#save-status")
    _shot(stale, "07-conflict")


def _add_call_with_word_times(app, web_seed, web_scorer) -> int:
    """The timed sample call again, with word times spread evenly over each turn (the sample's
    reference has turn times only; a pipeline transcript has a time for every word)."""
    import json

    from conftest import timed_sample
    from store_seed import store_scored_call

    from qa_scoring.transcript import Transcript
    from web.db import get_db

    _, truth = timed_sample()
    turns = []
    for turn in truth["turns"]:
        words = turn["text"].split()
        step = (turn["end"] - turn["start"]) / len(words)
        at = [round(turn["start"] + i * step, 2) for i in range(len(words) + 1)]
        turns.append(
            {**turn, "words": [{"text": w, "start": at[i], "end": at[i + 1]} for i, w in enumerate(words)]}
        )
    transcript = Transcript.from_dict({**truth, "call_id": "words-call", "turns": turns})
    transcript.duration = truth.get("duration")
    with app.app_context():
        db = get_db()
        call = store_scored_call(
            db,
            document=json.loads(json.dumps(transcript.to_dict())),
            scored=web_scorer.score(transcript),
            agent=None,
            audio_path=web_seed.audio,
            external_id="words-call",
        )
        db.commit()
        return call.id


def test_words_highlight_as_the_audio_plays_and_a_click_on_a_word_seeks(
    browser, live_url, app, web_seed, web_scorer
):
    from webhelp import PASSWORDS

    call_id = _add_call_with_word_times(app, web_seed, web_scorer)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{live_url}/login")
    page.fill("#username", "qa")
    page.fill("#password", PASSWORDS["qa"])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/queue/"))
    page.goto(f"{live_url}/calls/{call_id}")
    _wait_until(page, "document.getElementById('audio').readyState >= 1", timeout=15000)
    words = page.locator("#transcript .w[data-s]")
    assert words.count() > 100

    # Click a word in the middle of the call: the player jumps to it and plays.
    word = words.nth(words.count() // 2)
    start = float(word.get_attribute("data-s"))
    word.click()
    _wait_until(
        page, f"Math.abs(document.getElementById('audio').currentTime - {start}) < 0.75", timeout=10000
    )

    # As it plays, the highlight moves from word to word (not just turn to turn).
    _wait_until(
        page,
        f"""(() => {{
            const now = document.querySelectorAll('#transcript .w.now');
            return now.length === 1 && parseFloat(now[0].dataset.s) > {start} + 0.5;
        }})()""",
        timeout=15000,
    )
    page.evaluate("document.getElementById('audio').pause()")
    _wait_until(
        page,
        """(() => {
            const t = document.getElementById('audio').currentTime;
            const now = document.querySelector('#transcript .w.now');
            return now && parseFloat(now.dataset.s) <= t && t <= parseFloat(now.dataset.e) + 0.05;
        })()""",
        timeout=5000,
    )
    assert page.locator("#transcript .turn.now").count() == 0, "words are highlighted, not whole turns"
    _shot(page, "08-word-highlight")
    assert not errors, f"JavaScript errors: {errors}"
    page.close()


CARD_DRAFT = """\
name: Card draft
sections:
  - id: cards
    name: Cards
    criteria:
      - id: stopped_card
        name: Stopped the lost card
        says:
          who: agent
          examples:
            - I've cancelled the card so nobody can use it
            - that card is now blocked
            - I've put a stop on the old card
            - the lost card has been cancelled and a new one is on its way
            - I've frozen the card for you
          near_misses:
            - I can't cancel the card from here
"""


def test_the_rubric_editor_tries_a_criterion_in_plain_words(browser, live_url, web_settings):
    """An admin writes a criterion in words, presses "Try it", reads the hits; nothing is saved."""
    page = _signed_in_page(browser, live_url, "admin")
    page.goto(f"{live_url}/admin/rubrics/default.yaml")
    page.fill("#rb-name", "card_draft")
    page.fill("#rb-text", CARD_DRAFT)
    page.click("#rb-try")
    page.wait_for_selector("#try-results")
    results = page.inner_text("#try-results")
    assert "Stopped the lost card" in results and "said in 1 of 3 calls" in results
    assert "cancelled the card" in results
    assert page.input_value("#rb-text") == CARD_DRAFT  # the draft stays in the editor to improve
    assert not (web_settings.rubrics_dir / "card_draft.yaml").exists()
    _shot(page, "09-rubric-try")


def test_outcomes_dashboard_and_the_agent_report_as_a_leader_sees_them(
    browser, live_url, web_seed, web_settings
):
    """The outcomes dashboard's hand-checked row (see test_web_outcomes) and the agent's evaluation
    report, opened from the dashboards as a team leader would; both kept as screenshots."""
    from test_web_outcomes import _seed_outcomes

    _seed_outcomes(web_settings.database_url)
    page = _signed_in_page(browser, live_url, "leader")
    page.goto(f"{live_url}/dashboards/")
    page.click("#outcomes-link")
    page.wait_for_selector('tr[data-criterion="outcome-test/empathy"]')
    row = " ".join(page.inner_text('tr[data-criterion="outcome-test/empathy"]').split())
    assert "4.50 vs 2.00" in row and "+2.50 (+0.45 to +4.55)" in row, row
    _shot(page, "10-outcomes-dashboard")

    page.goto(f"{live_url}/dashboards/agent/{web_seed.agent1}/report?from=2026-11-01&to=2026-11-30")
    assert "Evaluation report: Sarah Jones" in page.inner_text("h1")
    _shot(page, "11-agent-report")


def test_a_vulnerable_customer_is_flagged_and_its_check_is_on_the_call_page(
    browser, live_url, web_scorer, web_settings, web_seed
):
    """A call the real model scores as a vulnerable customer heads the QA officer's queue with its
    reason, and the call page shows the UK compliance check of the agent's response."""
    import json

    from store_seed import agent_named, store_scored_call

    from qa_scoring.store.db import session_scope
    from qa_scoring.transcript import Transcript

    path = Path(__file__).resolve().parents[1] / "data" / "vulnerable-call.json"
    transcript = Transcript.from_dict(json.loads(path.read_text(encoding="utf-8")))
    scored = web_scorer.score(transcript)
    with session_scope(web_settings.database_url) as s:
        call = store_scored_call(
            s,
            document=transcript.to_dict(),
            scored=scored,
            agent=agent_named(s, "A100", "Sarah Jones", "Team A"),
        )
        call_id = call.id
    page = _signed_in_page(browser, live_url, "qa")
    row = page.locator(f"tr:has(a[href$='/calls/{call_id}'])")
    assert "vulnerable customer" in row.inner_text()
    _shot(page, "12-queue-vulnerable-customer")
    page.goto(f"{live_url}/calls/{call_id}")
    # The criterion sits in the UK compliance card (folded until opened), with its pre-score.
    assert "Supported a customer in vulnerable circumstances" in page.content()
    _shot(page, "13-call-vulnerable-customer")
