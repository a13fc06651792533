"""The call page, audio serving with Range, and the review API: decisions, audit, locking, disputes."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from webhelp import accept_rest_and_submit, csrf_token, decide, first_criterion, login, post_json

from qa_scoring.store.models import AuditEntry, Call, Review, Scorecard


def test_call_page_shows_audio_transcript_lanes_metrics_and_evidence(client, web_seed):
    login(client, "qa")
    html = client.get(f"/calls/{web_seed.timed_call}").get_data(as_text=True)
    assert f'src="/calls/{web_seed.timed_call}/audio"' in html
    assert html.count('class="turn agent') + html.count('class="turn customer') >= 10
    assert 'id="lanes"' in html and 'class="turn-agent"' in html
    assert "Handling time" in html and "Talk/listen ratio" in html
    assert re.search(r'class="ev link" data-turn="\d+" data-s="[\d.]+"', html), "evidence must carry its time"
    assert 'name="csrf-token"' in html and "/static/call.js" in html
    assert (
        "http://" not in html.replace("http://localhost", "") and "https://" not in html
    )  # no external assets


def test_untimed_call_page_renders_without_lanes(client, web_seed):
    login(client, "qa")
    resp = client.get(f"/calls/{web_seed.dev_calls[0]}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert 'id="lanes"' not in html and "No audio file" in html


def test_audio_supports_range_requests(client, web_seed):
    login(client, "qa")
    full = client.get(f"/calls/{web_seed.timed_call}/audio")
    assert full.status_code == 200 and full.headers["Accept-Ranges"] == "bytes"
    assert full.data == web_seed.audio.read_bytes()
    part = client.get(f"/calls/{web_seed.timed_call}/audio", headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.headers["Content-Range"].startswith("bytes 1000-1999/")
    assert part.data == web_seed.audio.read_bytes()[1000:2000]


def test_accept_and_override_are_saved_and_audited(client, app, web_seed):
    token = login(client, "qa")
    url = f"/calls/{web_seed.timed_call}/decisions"
    passing = first_criterion(app, web_seed.timed_call, result="pass")
    resp = post_json(
        client,
        url,
        token,
        {
            "review_id": 0,
            "version": 0,
            "rubric_id": passing.rubric_id,
            "criterion_id": passing.criterion_id,
            "decision": "accept",
        },
    )
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert body["decision"]["result"] == "pass" and body["version"] >= 1
    # An override without a reason is refused, and nothing changes.
    override = {
        "review_id": body["review_id"],
        "version": body["version"],
        "rubric_id": passing.rubric_id,
        "criterion_id": passing.criterion_id,
        "decision": "override",
        "result": "fail",
    }
    bad = post_json(client, url, token, override)
    assert bad.status_code == 400 and "reason" in bad.json["error"]
    over = post_json(client, url, token, {**override, "reason": "no greeting heard"})
    assert over.status_code == 200, over.json
    assert over.json["version"] > body["version"]
    from web.db import get_db

    with app.app_context():
        db = get_db()
        entries = list(
            db.scalars(
                select(AuditEntry).where(AuditEntry.entity == "criterion_decisions").order_by(AuditEntry.id)
            )
        )
        assert [e.action for e in entries] == ["accept", "override"]
        last = entries[-1]
        assert last.actor == "qa" and last.reason == "no greeting heard"
        assert last.old_value["result"] == "pass" and last.new_value["result"] == "fail"
        review = db.get(Review, over.json["review_id"])
        card = db.scalar(
            select(Scorecard).where(
                Scorecard.call_id == web_seed.timed_call, Scorecard.rubric_id == passing.rubric_id
            )
        )
        assert review.final_scores[passing.rubric_id] < (card.score or 0) or card.auto_failed


def test_an_override_points_at_a_turn_shown_beside_the_decision(client, app, web_seed):
    token = login(client, "qa")
    url = f"/calls/{web_seed.timed_call}/decisions"
    crit = first_criterion(app, web_seed.timed_call, result="pass")
    # An accept carries no turn; a turn that is not a number, or not a turn of the transcript, is refused.
    accept = decide(client, token, url, crit, 0, 0, "accept", turn=1)
    assert accept.status_code == 400 and "accept points at no turn" in accept.json["error"]
    bad = decide(client, token, url, crit, 0, 0, "override", result="fail", reason="r", turn="first")
    assert bad.status_code == 400
    outside = decide(client, token, url, crit, 0, 0, "override", result="fail", reason="r", turn=100000)
    assert outside.status_code == 400 and "not a turn of this call's transcript" in outside.json["error"]
    resp = decide(client, token, url, crit, 0, 0, "override", result="fail", reason="not heard", turn=1)
    assert resp.status_code == 200, resp.json
    from web.db import get_db

    with app.app_context():
        db = get_db()
        review = db.get(Review, resp.json["review_id"])
        (decision,) = review.decisions
        words = review.transcript.document["turns"][1]["text"].split()
        entry = db.scalar(select(AuditEntry).where(AuditEntry.entity == "criterion_decisions"))
        assert decision.turn == 1 and entry.new_value["turn"] == 1
    preview = " ".join(words[:8]) + (" …" if len(words) > 8 else "")
    assert resp.json["decision"]["turn"] == 1 and resp.json["decision"]["turn_words"] == preview
    html = client.get(f"/calls/{web_seed.timed_call}").get_data(as_text=True)
    assert 'class="ev link pointed" data-turn="1"' in html
    assert f"pointed at turn 2: “{preview}”" in html.replace("&#39;", "'")
    assert 'id="turn-1" data-turn="1"' in html and 'name="turn"' in html


def test_stale_version_gets_409_and_keeps_the_first_decision(client, app, web_seed):
    token = login(client, "qa")
    url = f"/calls/{web_seed.timed_call}/decisions"
    crit = first_criterion(app, web_seed.timed_call)
    first = decide(client, token, url, crit, 0, 0).json
    # The same officer in another tab, loaded before the first decision (no review yet), is refused...
    tab = app.test_client()
    tab_token = login(tab, "qa")
    resp = decide(tab, tab_token, url, crit, 0, 0, "override", result="na", reason="x")
    assert resp.status_code == 409 and "already have a draft review" in resp.json["error"]
    # ... and so is one holding an old version of the same review.
    ok = decide(tab, tab_token, url, crit, first["review_id"], first["version"])
    assert ok.status_code == 200
    stale = decide(
        client, token, url, crit, first["review_id"], first["version"], "override", result="na", reason="m"
    )
    assert stale.status_code == 409 and stale.json["conflict"] is True
    assert "changed by someone else" in stale.json["error"]


def test_a_second_officer_decides_in_a_second_review_never_in_the_first_officers_draft(client, app, web_seed):
    from qa_scoring.store.models import Review
    from web.db import get_db

    token = login(client, "qa")
    url = f"/calls/{web_seed.timed_call}/decisions"
    crit = first_criterion(app, web_seed.timed_call)
    first = decide(client, token, url, crit, 0, 0, "override", result="partial", reason="first officer").json
    other = app.test_client()
    token2 = login(other, "qa2")
    # Aiming at the first officer's draft (a page loaded after a reload, say) is refused...
    into_first = decide(
        other,
        token2,
        url,
        crit,
        first["review_id"],
        first["version"],
        "override",
        result="fail",
        reason="second officer",
    )
    assert into_first.status_code == 400 and "qa's draft" in into_first.json["error"]
    # ... and a decision from a page without a review of their own starts the second officer's own.
    second = decide(other, token2, url, crit, 0, 0, "override", result="fail", reason="second officer")
    assert second.status_code == 200 and second.json["review_id"] != first["review_id"]
    with app.app_context():
        reviews = {r.reviewer.username: r for r in get_db().query(Review).all()}
        assert [(d.human_result, d.reason) for d in reviews["qa"].decisions] == [("partial", "first officer")]
        assert [(d.human_result, d.reason) for d in reviews["qa2"].decisions] == [("fail", "second officer")]
    page = other.get(f"/calls/{web_seed.timed_call}").get_data(as_text=True)
    assert "qa2 (draft)" in page and "qa (draft)" in page


def test_submit_needs_every_criterion_then_leaves_the_queue(client, app, web_seed):
    token = login(client, "qa")
    cid = web_seed.dev_calls[0]
    crit = first_criterion(app, cid)
    flipped = "pass" if crit.result != "pass" else "fail"
    url = f"/calls/{cid}/decisions"
    first = decide(
        client, token, url, crit, 0, 0, "override", result=flipped, reason="heard differently"
    ).json
    early = post_json(
        client, f"/calls/{cid}/submit", token, {"review_id": first["review_id"], "version": first["version"]}
    )
    assert early.status_code == 400 and "still need a decision" in early.json["error"]
    rest, done = accept_rest_and_submit(client, cid, token, first)
    assert rest.json["accepted"] > 5
    assert done.status_code == 200 and done.json["status"] == "submitted"
    queue = client.get("/queue/").get_data(as_text=True)
    assert f'/calls/{cid}"' not in queue
    reviewed = client.get("/queue/?status=reviewed").get_data(as_text=True)
    assert f'/calls/{cid}"' in reviewed


def _submitted_by_qa(client, cid: int) -> str:
    token = login(client, "qa")
    _, done = accept_rest_and_submit(client, cid, token, {"review_id": 0, "version": 0})
    assert done.status_code == 200
    return token


def _appeal(app, cid: int, crit, proposed: str, reason: str):
    agent = app.test_client()
    login(agent, "agent2")
    page = agent.get(f"/calls/{cid}").get_data(as_text=True)
    assert "Appeal a criterion" in page
    token = csrf_token(agent, f"/calls/{cid}")
    data = {
        "criterion": f"{crit.rubric_id}/{crit.criterion_id}",
        "proposed_result": proposed,
        "reason": reason,
        "csrf_token": token,
    }
    assert agent.post(f"/calls/{cid}/disputes", data=data).status_code == 302
    from qa_scoring.store.models import Dispute
    from web.db import get_db

    with app.app_context():
        dispute = (
            get_db()
            .scalars(select(Dispute).where(Dispute.call_id == cid).order_by(Dispute.id.desc()))
            .first()
        )
        return dispute.id, dispute.version_id


def _decide_appeal(client, cid: int, appeal: tuple[int, int], status: str, reason: str, outcome: str = ""):
    token = csrf_token(client, f"/calls/{cid}")
    data = {"status": status, "resolution": reason, "version": appeal[1], "outcome_result": outcome}
    return client.post(f"/calls/disputes/{appeal[0]}/resolve", data={**data, "csrf_token": token})


def _standing(app, cid: int):
    from qa_scoring.store.queries import standing_review
    from web.db import get_db

    with app.app_context():
        review = standing_review(get_db(), cid)
        return review.id, {(d.rubric_id, d.criterion_id): d.human_result for d in review.decisions}


def test_an_appeal_returns_the_call_to_the_queue_and_a_rejection_changes_nothing(client, app, web_seed):
    cid = web_seed.dev_calls[1]
    _submitted_by_qa(client, cid)
    assert f'/calls/{cid}"' not in client.get("/queue/").get_data(as_text=True)
    crit = first_criterion(app, cid)
    before = _standing(app, cid)
    proposed = "fail" if crit.result != "fail" else "pass"
    appeal = _appeal(app, cid, crit, proposed, "I did greet the customer")
    queue = client.get("/queue/").get_data(as_text=True)
    assert f'/calls/{cid}"' in queue and "dispute" in queue
    # The officer whose review is appealed cannot decide the appeal.
    _decide_appeal(client, cid, appeal, "rejected", "my own review")
    from qa_scoring.store.models import Dispute
    from web.db import get_db

    with app.app_context():
        assert get_db().get(Dispute, appeal[0]).status == "open"
    second = app.test_client()
    login(second, "qa2")
    _decide_appeal(second, cid, appeal, "rejected", "not on the call")
    with app.app_context():
        dispute = get_db().get(Dispute, appeal[0])
        assert (dispute.status, dispute.outcome_result) == ("rejected", crit.result)
        assert get_db().get(Call, cid).needs_review is False
    assert _standing(app, cid) == before
    assert f'/calls/{cid}"' not in client.get("/queue/").get_data(as_text=True)


@pytest.mark.parametrize("outcome", ["upheld", "partial"])
def test_an_upheld_appeal_becomes_a_new_standing_review_and_the_old_one_stays(client, app, web_seed, outcome):
    cid = web_seed.dev_calls[1]
    _submitted_by_qa(client, cid)
    crit = first_criterion(app, cid, result="pass")
    first_id, first_results = _standing(app, cid)
    appeal = _appeal(app, cid, crit, "fail", "the agent never said their name")
    leader = app.test_client()
    login(leader, "leader")
    partly = "partial" if outcome == "partial" else ""
    resp = _decide_appeal(leader, cid, appeal, outcome, "heard it on the recording", partly)
    assert resp.status_code == 302
    new_id, new_results = _standing(app, cid)
    key = (crit.rubric_id, crit.criterion_id)
    assert new_id != first_id and new_results[key] == ("partial" if partly else "fail")
    assert {k: v for k, v in new_results.items() if k != key} == {
        k: v for k, v in first_results.items() if k != key
    }
    from qa_scoring.store.models import Review
    from web.db import get_db

    with app.app_context():
        old = get_db().get(Review, first_id)
        assert old.status == "submitted" and not old.standing
        assert {(d.rubric_id, d.criterion_id): d.human_result for d in old.decisions} == first_results
    page = leader.get(f"/calls/{cid}").get_data(as_text=True)
    assert f"appeal #{appeal[0]}" in page


def test_the_agent_acknowledges_a_submitted_review_once(client, app, web_seed):
    cid = web_seed.dev_calls[1]
    _submitted_by_qa(client, cid)
    agent = app.test_client()
    login(agent, "agent2")
    page = agent.get(f"/calls/{cid}").get_data(as_text=True)
    assert "I have seen this review" in page
    review_id = _standing(app, cid)[0]
    token = csrf_token(agent, f"/calls/{cid}")
    url = f"/calls/{cid}/reviews/{review_id}/acknowledge"
    assert agent.post(url, data={"comment": "Fair, will work on it", "csrf_token": token}).status_code == 302
    page = agent.get(f"/calls/{cid}").get_data(as_text=True)
    assert "Acknowledged by agent2" in page and "Fair, will work on it" in page
    assert "I have seen this review" not in page
    # Another agent's call cannot be acknowledged by this agent, and no one else acknowledges for them.
    assert client.post(url, data={"csrf_token": csrf_token(client, f"/calls/{cid}")}).status_code == 403
    from qa_scoring.store.models import AuditEntry
    from web.db import get_db

    with app.app_context():
        actions = get_db().scalars(select(AuditEntry.action).where(AuditEntry.entity == "reviews")).all()
    assert actions.count("acknowledge") == 1


def test_agents_and_leaders_cannot_decide(client, app, web_seed):
    token = login(client, "leader")
    crit = first_criterion(app, web_seed.timed_call)
    resp = decide(client, token, f"/calls/{web_seed.timed_call}/decisions", crit, 0, 0)
    assert resp.status_code == 403


def test_json_post_without_csrf_is_refused(client, app, web_seed):
    login(client, "qa")
    crit = first_criterion(app, web_seed.timed_call)
    resp = client.post(
        f"/calls/{web_seed.timed_call}/decisions",
        json={
            "review_id": 0,
            "version": 0,
            "rubric_id": crit.rubric_id,
            "criterion_id": crit.criterion_id,
            "decision": "accept",
        },
    )
    assert resp.status_code == 400 and "CSRF" in resp.json["error"]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_optimistic_lock_on_each_backend(backend, request):
    """Two sessions load the same review; the second writer's flush fails instead of overwriting."""
    from store_checks import assert_second_writer_refused

    from qa_scoring.store.db import session_factory
    from qa_scoring.store.models import Agent, User

    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "postgres_url")
    factory = session_factory(url)
    with factory() as s:
        user = User(username="u", role="qa_officer", password_hash="x")
        call = Call(audio_path="", content_sha256="0" * 64, size_bytes=0, agent=Agent(external_id="a"))
        s.add_all([user, call])
        s.flush()
        s.add(Review(call_id=call.id, reviewer_id=user.id))
        s.commit()
    assert_second_writer_refused(factory)


def test_scorecards_that_do_not_apply_come_last_and_need_no_decisions(client, app, web_seed):
    from web.db import get_db

    cid = web_seed.timed_call  # a routine call: the complaint models do not apply
    with app.app_context():
        cards = get_db().scalars(select(Scorecard).where(Scorecard.call_id == cid)).all()
        applicable = sorted(c.rubric_id for c in cards if c.applicable)
        not_applicable = sorted(c.rubric_id for c in cards if not c.applicable)
    assert applicable and not_applicable
    token = login(client, "qa")
    html = client.get(f"/calls/{cid}").get_data(as_text=True)
    positions = {r: html.index(f'data-rubric="{r}"') for r in applicable + not_applicable}
    assert max(positions[r] for r in applicable) < min(positions[r] for r in not_applicable)

    state = {"review_id": 0, "version": 0}
    for rubric_id in applicable:
        body = {**state, "rubric_id": rubric_id}
        state = post_json(client, f"/calls/{cid}/accept-remaining", token, body).json
    done = post_json(client, f"/calls/{cid}/submit", token, state)
    assert done.status_code == 200, done.json


def _review_whole_call(client, token, cid: int, crit, result: str, reason: str) -> dict:
    """One officer's complete review, in the draft the call page holds for them (none: a new one):
    an override of ``crit``, the rest accepted, submitted."""
    page = client.get(f"/calls/{cid}").get_data(as_text=True)
    review_id, version = (
        int(re.search(rf'data-{k}="(\d+)"', page).group(1)) for k in ("review-id", "version")
    )
    url = f"/calls/{cid}/decisions"
    state = decide(
        client, token, url, crit, review_id, version, "override", result=result, reason=reason
    ).json
    _, done = accept_rest_and_submit(client, cid, token, state)
    assert done.status_code == 200, done.json
    return done.json


def test_every_submitted_review_is_kept_and_which_one_stands_is_an_audited_choice(client, app, web_seed):
    from sqlalchemy import select

    from qa_scoring.store.models import AuditEntry, Call, Review
    from qa_scoring.store.queries import standing_review
    from web.db import get_db

    cid = web_seed.dev_calls[0]
    crit = first_criterion(app, cid)
    first = _review_whole_call(client, login(client, "qa"), cid, crit, "fail", "missed it")
    other = app.test_client()
    token2 = login(other, "qa2")
    page = other.get(f"/calls/{cid}").get_data(as_text=True)
    assert "Start a new review" in page
    assert other.post(f"/calls/{cid}/reviews/new", data={"csrf_token": token2}).status_code == 302
    second = _review_whole_call(other, token2, cid, crit, "pass", "heard it at 0:40")
    assert first["final_scores"] != second["final_scores"]
    with app.app_context():
        db = get_db()
        reviews = db.scalars(select(Review).where(Review.call_id == cid).order_by(Review.id)).all()
        assert [(r.status, r.standing) for r in reviews] == [("submitted", False), ("submitted", True)]
        assert standing_review(db, cid).id == second["review_id"]
    # Choosing the first review needs a reason, and is audited with it.
    refused = other.post(f"/calls/{cid}/reviews/{first['review_id']}/stand", data={"csrf_token": token2})
    assert refused.status_code == 302
    with app.app_context():
        assert standing_review(get_db(), cid).id == second["review_id"]
    chosen = other.post(
        f"/calls/{cid}/reviews/{first['review_id']}/stand",
        data={"csrf_token": token2, "reason": "calibration panel agreed with the first officer"},
    )
    assert chosen.status_code == 302
    with app.app_context():
        db = get_db()
        assert standing_review(db, cid).id == first["review_id"]
        stands = db.scalars(
            select(AuditEntry).where(AuditEntry.action == "stand").order_by(AuditEntry.id)
        ).all()
        assert [(e.old_value["standing_review"], e.new_value["standing_review"]) for e in stands] == [
            (None, first["review_id"]),
            (first["review_id"], second["review_id"]),
            (second["review_id"], first["review_id"]),
        ]
        assert stands[-1].reason == "calibration panel agreed with the first officer"
    page = other.get(f"/calls/{cid}").get_data(as_text=True)
    assert "Standing review history" in page and "calibration panel agreed" in page
    # The dashboard counts the standing review's score and says so.
    from qa_scoring.review.stats import call_facts

    with app.app_context():
        db = get_db()
        facts = {f.call_id: f for f in call_facts(db, [db.get(Call, cid)])}
    assert facts[cid].scores[crit.rubric_id] == first["final_scores"][crit.rubric_id]
