"""Dashboards and calibration on stores of 1, 10 and 1,000 calls: every chart names every rubric,
weeks are labelled as weeks, the team row has its scores, and calibration shows no figure from a
handful of calls and an interval once there are enough."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from webhelp import login

from qa_scoring.review.stats import MIN_CALIBRATION_CALLS, week_label
from qa_scoring.transcript import Transcript


def test_week_labels_say_the_whole_week():
    assert week_label(dt.date(2026, 11, 16)) == "16\u201322 Nov"
    assert week_label(dt.date(2026, 11, 30)) == "30 Nov\u20136 Dec"


@pytest.fixture
def store_of(app, web_scorer):
    """``store_of(n)``: the seeded store plus ``n`` scored calls of Team A's first agent, two a day
    from Friday 20 Nov 2026 backwards, each reviewed by "qa" (every pre-score accepted but one
    criterion, overridden on every third call)."""
    from shared_data import shared_path
    from sqlalchemy import select
    from store_seed import store_scored_call

    from qa_scoring.review.decisions import final_scores, scorecards_for
    from qa_scoring.store.models import Agent, CriterionDecision, Review, User
    from web.db import get_db

    data = json.loads(shared_path("data", "calls", "dev", "dev-003.json").read_text(encoding="utf-8"))
    transcript = Transcript.from_dict(data)
    scored = web_scorer.score(transcript)
    document = transcript.to_dict()

    def build(n: int) -> int:
        with app.app_context():
            db = get_db()
            agent = db.scalars(select(Agent).where(Agent.external_id == "A100")).one()
            officer = db.scalars(select(User).where(User.username == "qa")).one()
            start = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)
            for i in range(n):
                when = start - dt.timedelta(hours=12 * i)
                call = store_scored_call(
                    db,
                    document=document,
                    scored=scored,
                    agent=agent,
                    started_at=when,
                    external_id=f"size-{n}-{i}",
                )
                cards = scorecards_for(db, call.transcripts[0])
                review = Review(
                    call=call, reviewer=officer, transcript=call.transcripts[0], status="submitted"
                )
                for k, crit in enumerate(c for card in cards for c in card.criteria):
                    human = crit.result if (k or i % 3) else ("fail" if crit.result != "fail" else "pass")
                    review.decisions.append(
                        CriterionDecision(
                            rubric_id=crit.scorecard.rubric_id,
                            criterion_id=crit.criterion_id,
                            decision="accept" if human == crit.result else "override",
                            automatic_result=crit.result,
                            human_result=human,
                            decided_by=officer,
                        )
                    )
                review.final_scores = final_scores(review, cards)
                review.submitted_at, review.standing = when, True
                db.add(review)
            db.commit()
            return agent.id

    return build


def _legend(svg: str) -> list[str]:
    return re.findall(r'class="legend">([^<]+)<', svg)


@pytest.mark.parametrize("n", [1, 10, 1000])
def test_dashboards_and_calibration_read_right_at_every_size(client, store_of, web_seed, n):
    agent_id = store_of(n)
    login(client, "leader")
    page = client.get(f"/dashboards/agent/{agent_id}").get_data(as_text=True)
    chart = page[
        page.index("Score per rubric per week") : page.index("</svg>", page.index("Score per rubric"))
    ]
    rubrics = set(
        re.findall(r'<th scope="col">([^<]+)</th>', client.get("/dashboards/team/1").get_data(as_text=True))
    )
    legend = _legend(chart)
    assert len(legend) == len(set(legend)) >= 6, legend  # every rubric named, none dropped
    assert set(legend) <= rubrics
    # The newest calls (Friday 20 and Thursday 19 Nov) sit in the week of Monday 16 Nov.
    assert "16\u201322 Nov" in chart and "16 Nov<" not in chart
    ticks = re.findall(r'class="tick">(\d+\S*\s\w{3})<', chart)
    assert len(ticks) <= 8  # readable: at most ~7 week labels however many weeks
    team = client.get("/dashboards/team/1").get_data(as_text=True)
    average = re.search(r"Team average</th><td>\d+</td>(.*?)</tr>", team, re.S).group(1)
    assert len(re.findall(r"<td>\d+</td>", average)) >= 6  # a score under every rubric

    login(client, "qa")
    calibration = client.get("/dashboards/calibration").get_data(as_text=True)
    prescore = calibration[calibration.index('id="prescore"') : calibration.index("</table>")]
    if n + 1 < MIN_CALIBRATION_CALLS:  # the seed adds none; n calls reviewed
        assert "too few calls" in prescore and "%" not in prescore.replace("95% interval", "")
    else:
        assert "too few calls" not in prescore
        intervals = re.findall(r"(\d+)% \((\d+)\u2013(\d+)%\)", prescore)
        assert intervals and all(int(lo) <= int(p) <= int(hi) for p, lo, hi in intervals)
