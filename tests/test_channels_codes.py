"""Short tracking codes: typable, stable per payload, resolvable however they are typed."""

from __future__ import annotations

import re

import pytest
from test_channels_support import record_campaign_row, sample_spec

from outreach.channels.codes import ALPHABET, issue_code, resolve_code
from outreach.channels.links import click_url, rsvp_url, unsubscribe_url
from outreach.settings import Settings
from outreach.store import Store
from outreach.tracking.tokens import TokenPayload


@pytest.fixture
def campaign_store(store: Store) -> Store:
    record_campaign_row(store, sample_spec())
    return store


def test_codes_are_short_stable_and_distinct(campaign_store: Store) -> None:
    radio_bn = TokenPayload("the-way-ahead", 1, "radio", "bn", partner="radio-padma")
    code = issue_code(campaign_store, radio_bn)
    assert re.fullmatch(rf"RADIO-[{ALPHABET}]{{2,}}", code)
    assert issue_code(campaign_store, radio_bn) == code  # idempotent per payload

    others = [
        TokenPayload("the-way-ahead", 1, "radio", "en", partner="radio-padma"),
        TokenPayload("the-way-ahead", 2, "radio", "bn", partner="radio-padma"),
        TokenPayload("the-way-ahead", 1, "flyer", "bn", point="whitechapel-library"),
        TokenPayload("the-way-ahead", 1, "flyer", "bn"),
        TokenPayload("the-way-ahead", 1, "partner_pack", "bn", partner="al-noor-mosque"),
    ]
    codes = [issue_code(campaign_store, payload) for payload in others]
    assert len(set(codes + [code])) == 6
    assert codes[2].startswith("FLYER-") and codes[4].startswith("PACK-")
    for payload, issued in zip(others, codes, strict=True):
        assert resolve_code(campaign_store, issued) == payload


def test_many_codes_never_collide(campaign_store: Store) -> None:
    payloads = [
        TokenPayload("the-way-ahead", 1, "flyer", "en", point=f"point-{i}") for i in range(300)
    ]
    codes = [issue_code(campaign_store, p) for p in payloads]
    assert len(set(codes)) == 300  # 300 > 31*31/4: some needed a longer suffix, none collide
    assert all(resolve_code(campaign_store, c) == p for c, p in zip(codes, payloads, strict=True))


def test_codes_resolve_ignoring_case_spaces_and_dashes(campaign_store: Store) -> None:
    payload = TokenPayload("the-way-ahead", 1, "radio", "so", partner="codka-bulshada")
    code = issue_code(campaign_store, payload)
    suffix = code.split("-", 1)[1]
    for typed in (code.lower(), f" radio {suffix.lower()} ", f"RADIO{suffix}", f"radio-{suffix}"):
        assert resolve_code(campaign_store, typed) == payload
    assert resolve_code(campaign_store, "RADIO-ZZZZZZ") is None
    assert resolve_code(campaign_store, "  ") is None


def test_codes_are_for_materials_not_people(campaign_store: Store) -> None:
    with pytest.raises(ValueError, match="per-delivery"):
        issue_code(campaign_store, TokenPayload("the-way-ahead", 1, "email", "en", delivery=5))


def test_links_carry_only_the_token(settings: Settings) -> None:
    settings = settings.model_copy(update={"public_url": "https://rsvp.example.org/"})
    assert rsvp_url(settings, "TOKEN") == "https://rsvp.example.org/rsvp/TOKEN"
    assert unsubscribe_url(settings, "TOKEN") == "https://rsvp.example.org/u/TOKEN"
    assert (
        click_url(settings, "TOKEN", "https://meet.example.org/a?b=1&c=2")
        == "https://rsvp.example.org/r/TOKEN?to=https%3A%2F%2Fmeet.example.org%2Fa%3Fb%3D1%26c%3D2"
    )
