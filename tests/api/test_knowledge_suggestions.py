"""Suggestions answer any text the document allows: found by fuzzing, a text of one long
word (``"0" * 20_000``, the longest allowed) took 18 s, since the e-mail pattern of
``gateway/knowledge/redaction.py`` tried every position of the word (quadratic time).
Speed is not asserted here (the suite's own duration shows a regression); the answer is."""

from __future__ import annotations

from tests.api.conftest import Api


def test_a_text_of_one_long_word_is_answered(api: Api) -> None:
    answer = api.client.post(
        "/v1/knowledge/suggestions",
        json={"text": "0" * 20_000},
        headers=api.as_person("elena", "knowledge:read"),
    )

    assert answer.status_code == 200
    assert answer.json() == []  # no article matches a word of zeros
