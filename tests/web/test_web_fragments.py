"""The call page's cached parts: a review decision (a new review version) is never answered from
the old cache entry, and nothing of one viewer (CSRF token, name, role buttons) reaches another."""

from __future__ import annotations

import re

from webhelp import CSRF, accept_rest_and_submit, decide, first_criterion, login

from web.fragments import LRU

DATA_VERSION = re.compile(r'data-version="(\d+)"')


def _item(html: str, rubric_id: str, criterion_id: str) -> str:
    """The <li> of one criterion on the call page (up to the next criterion or the list's end)."""
    start = html.index(f'id="crit-{rubric_id}-{criterion_id}"')
    end = html.find('<li class="crit', start)
    return html[start : end if end != -1 else html.index("</ol>", start)]


def test_a_decision_bumps_the_version_and_the_page_never_shows_the_cached_scorecard(client, app, web_seed):
    cid = web_seed.timed_call
    crit = first_criterion(app, cid, result="pass", applicable=True)
    rubric_id, criterion_id = crit.rubric_id, crit.criterion_id
    scorecards = app.extensions["qa_fragments"]["scorecard"]
    token = login(client, "qa")

    before = client.get(f"/calls/{cid}").get_data(as_text=True)
    assert DATA_VERSION.search(before).group(1) == "0"
    assert "Accepted by" not in _item(before, rubric_id, criterion_id)
    again = client.get(f"/calls/{cid}").get_data(as_text=True)
    assert scorecards.hits >= 1 and again == before.replace(
        CSRF.search(before).group(1), CSRF.search(again).group(1)
    )

    url = f"/calls/{cid}/decisions"
    decided = decide(client, token, url, crit, 0, 0)
    assert decided.status_code == 200, decided.json
    version = decided.json["version"]
    after = client.get(f"/calls/{cid}").get_data(as_text=True)
    assert DATA_VERSION.search(after).group(1) == str(version)
    assert "Accepted by qa" in _item(after, rubric_id, criterion_id)

    # The same officer overrides it from another tab: the page they load next shows it, and the
    # dispute/agent view's option list (which carries each final result) follows once submitted.
    review_id = decided.json["review_id"]
    over = decide(
        client, token, url, crit, review_id, version, "override", result="fail", reason="greeting cut off"
    )
    assert over.status_code == 200, over.json
    assert over.json["version"] > version
    latest = client.get(f"/calls/{cid}").get_data(as_text=True)
    assert DATA_VERSION.search(latest).group(1) == str(over.json["version"])
    assert "Overridden to fail by qa: greeting cut off" in _item(latest, rubric_id, criterion_id)
    accepted, submitted = accept_rest_and_submit(client, cid, token, over.json)
    assert accepted.status_code == 200, accepted.json
    assert submitted.status_code == 200, submitted.json

    login(client, "leader")
    leader = client.get(f"/calls/{cid}").get_data(as_text=True)
    assert f'value="{rubric_id}/{criterion_id}">{rubric_id}: ' in leader
    option = re.search(rf'<option value="{rubric_id}/{criterion_id}">[^<]*\((\w+)\)</option>', leader)
    assert option and option.group(1) == "fail"


def test_cached_parts_hold_nothing_of_the_viewer(client, app, web_seed):
    cid = web_seed.timed_call
    login(client, "qa")
    qa_page = client.get(f"/calls/{cid}").get_data(as_text=True)
    qa_token = CSRF.search(qa_page).group(1)
    assert 'class="accept"' in qa_page  # review buttons for an officer

    for name, lru in app.extensions["qa_fragments"].items():
        assert len(lru), f"the {name} part was not cached"
        for entry in lru._items.values():
            html = "".join(
                str(getattr(entry, f))
                for f in ("html", "dispute_options", "clip_options")
                if hasattr(entry, f)
            )
            assert "csrf" not in html.lower() and qa_token not in html
            assert "(qa officer)" not in html  # the viewer's name line lives in the page shell

    # Same call, same review version, another role: its own buttons and token, not the officer's.
    login(client, "agent")
    agent_page = client.get(f"/calls/{cid}").get_data(as_text=True)
    assert 'class="accept"' not in agent_page and 'class="accept-rest"' not in agent_page
    assert 'class="clip-ev' not in agent_page
    assert CSRF.search(agent_page).group(1) != qa_token
    assert "(agent)" in agent_page


def test_lru_keeps_the_most_recently_used_entries():
    lru = LRU(2)
    made: list[str] = []

    def make(key: str):
        return lambda: made.append(key) or key.upper()

    assert lru.get_or_make("a", make("a")) == "A"
    lru.get_or_make("b", make("b"))
    lru.get_or_make("a", make("a"))  # a hit: "a" becomes the most recent
    lru.get_or_make("c", make("c"))  # evicts "b"
    lru.get_or_make("a", make("a"))
    lru.get_or_make("b", make("b"))
    assert made == ["a", "b", "c", "b"] and len(lru) == 2
