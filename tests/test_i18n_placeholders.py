"""The placeholder guard: what engines and reviewers must keep exactly."""

from __future__ import annotations

import pytest

from outreach.i18n.placeholders import (
    PlaceholderError,
    placeholder_mismatch,
    placeholders,
    protect,
    restore,
)

SOURCE = (
    "Dear %(name)s, {{ event.date }} {% if x %}at{% endif %} {venue}: see "
    "https://example.org/e?a=1. Mail hello@example.org, code RADIO-7K, <b>now</b>, 100% free"
)


def test_every_kind_of_placeholder_is_protected():
    shielded, saved = protect(SOURCE)
    assert saved == [
        "%(name)s",
        "{{ event.date }}",
        "{% if x %}",
        "{% endif %}",
        "{venue}",
        "https://example.org/e?a=1",
        "hello@example.org",
        "RADIO-7K",
        "<b>",
        "</b>",
    ]
    assert "100% free" in shielded  # a literal percent sign is text, not a placeholder
    assert "https" not in shielded and "RADIO" not in shielded
    assert restore(shielded, saved, source=SOURCE) == SOURCE


def test_engine_may_move_tokens_and_add_spaces_inside_brackets():
    _, saved = protect("Hello %(name)s, code RADIO-7K")
    assert restore("Código ⟦ 1 ⟧, hola ⟦0⟧", saved) == "Código RADIO-7K, hola %(name)s"


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        ("Hola", "lost '%(name)s'"),
        ("Hola ⟦0⟧ ⟦0⟧", "repeated '%(name)s'"),
        ("Hola ⟦0⟧ ⟦3⟧", "added unknown placeholder tokens 3"),
    ],
)
def test_lost_repeated_or_invented_tokens_are_refused(result, reason):
    _, saved = protect("Hello %(name)s")
    with pytest.raises(PlaceholderError) as caught:
        restore(result, saved, source="Hello %(name)s")
    assert reason in caught.value.reason


def test_translated_placeholder_names_are_caught():
    assert placeholder_mismatch("Dear %(name)s", "Querido %(name)s") is None
    problem = placeholder_mismatch("Dear %(name)s", "Querido %(nombre)s")
    assert "missing %(name)s" in problem and "unexpected %(nombre)s" in problem
    assert placeholder_mismatch("Go to https://a.org/x", "Ve a https://a.org/y") is not None
    assert placeholders("Kod: RADIO-7K.") == ["RADIO-7K"]
