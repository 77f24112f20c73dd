"""Untrusted text: not UTF-8, control characters, values of any type."""

from __future__ import annotations

from gateway.knowledge.text import clean_text, one_line, value_text


def test_bytes_that_are_not_utf8_and_lone_surrogates_become_replacement_characters() -> None:
    assert clean_text(b"caf\xe9") == "caf\ufffd"
    assert clean_text("bad \udcff end") == "bad ? end"


def test_control_and_invisible_characters_are_dropped_and_long_text_cut() -> None:
    assert clean_text("a\x00b\u200bc\u202ed\r\ne") == "abcd\ne"
    assert clean_text("x" * 10, limit=5) == "xxxx…"
    assert one_line("a\n\n  b\tc") == "a b c"


def test_values_are_written_as_sorted_json() -> None:
    assert value_text({"b": 1, "a": [True, None, 1.5, object]}).startswith(
        '{"a": [true, null, 1.5, "<class'
    )
    loop: list[object] = []
    loop.append(loop)
    assert value_text(loop) == "(unreadable value)"
    assert clean_text(7) == "7"
