"""Radio scripts: reading time, overruns found by validation, the station's code, WAV preview."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator

import pytest
from test_channels_support import install_catalogs, needs, sample_spec

from outreach.campaign import CampaignSpec
from outreach.channels.checks import check_channels
from outreach.channels.radio import reading_seconds, render_brief, render_spots, speak_to_wav
from outreach.settings import Settings


@pytest.fixture
def spec() -> CampaignSpec:
    return sample_spec()


@pytest.fixture
def translated(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    yield from install_catalogs(monkeypatch)


def _with_description(spec: CampaignSpec, description: str) -> CampaignSpec:
    event = spec.event.model_copy(update={"description": description})
    return spec.model_copy(update={"event": event})


def test_reading_time_by_words_and_by_characters() -> None:
    assert reading_seconds("one two three four five", "en", words_per_minute=150) == 2.0
    assert reading_seconds(" ".join(["word"] * 150), "en", words_per_minute=150) == 60.0
    # Chinese has no spaces: 60 characters at 300 a minute is 12 s (punctuation is silent).
    chinese = "前进之路为更公平的伦敦共享数据" * 4 + "，。"
    assert reading_seconds(chinese, "zh", characters_per_minute=300) == 12.0
    # Latin runs inside Chinese (an email address, the code) are read as words.
    mixed = "请发邮件到 hello@example.org 并说出 RADIO-7K"
    seconds = reading_seconds(mixed, "zh", words_per_minute=150, characters_per_minute=300)
    assert seconds == pytest.approx(8 * 60 / 300 + 2 * 60 / 150)


def test_spots_fit_their_slots_and_carry_the_code(spec: CampaignSpec) -> None:
    spots = render_spots(spec, "en", "RADIO-7K", "Radio Padma")
    assert [s.slot for s in spots] == [30, 60]
    for spot in spots:
        assert "RADIO-7K" in spot.text and spec.sender.email in spot.text
        assert 0 < spot.seconds <= spot.slot and not spot.over
        assert spot.seconds == round(len(spot.text.split()) * 60 / 150)
    assert spots[0].seconds < spots[1].seconds


def test_overrunning_spot_is_a_validation_problem(spec: CampaignSpec, settings: Settings) -> None:
    long = _with_description(spec, " ".join(["Please come and bring your neighbours."] * 30))
    problems = check_channels(long, None, settings)
    overruns = [p for p in problems if p.field == "channels.radio.spot_seconds"]
    # The 60-second spot reads the description: too long in every language.
    assert len(overruns) == len(spec.target_languages)
    assert all("60-second radio spot" in p.message for p in overruns)
    assert any(" in zh " in p.message and "characters per minute" in p.message for p in overruns)
    assert overruns[0].file.endswith("the-way-ahead.yaml")
    assert check_channels(spec, None, settings) == []


def test_chinese_overrun_is_counted_in_characters(
    spec: CampaignSpec, settings: Settings, translated: dict
) -> None:
    # 300 Chinese characters of description: about 60 s on its own at 300 a minute.
    description = "社区团体和居民正在共同建设一个分享数据的方式" * 14
    long = _with_description(spec, description)
    [short, full] = render_spots(long, "zh", "RADIO-7K")
    assert full.by_characters and full.rate == 300 and full.over
    assert not short.over
    # The same text is few "words" (no spaces): a word count would wrongly pass it.
    assert reading_seconds(full.text, "zh", spaced=True) < 30


def test_presenter_brief_has_talking_points_pronunciation_and_call_to_action(
    spec: CampaignSpec,
) -> None:
    brief = render_brief(spec, "en", "RADIO-7K", "Radio Padma 1485")
    assert "Presenter's brief for Radio Padma 1485" in brief
    assert "Toynbee Hall: TOYN-bee hall" in brief and "Aldgate East: ALD-gate east" in brief
    assert spec.barrier_answers["childcare"] in brief
    assert "give the code RADIO-7K" in brief


def test_wav_preview_has_a_plausible_duration(spec: CampaignSpec) -> None:
    needs("espeak-ng")
    [short, _full] = render_spots(spec, "en", "RADIO-7K")
    data = speak_to_wav(short.text, "en-gb", spec.channels.radio.words_per_minute)
    assert data is not None
    with wave.open(io.BytesIO(data)) as audio:
        seconds = audio.getnframes() / audio.getframerate()
    # The estimate says about short.seconds; a machine voice is within a factor of two.
    assert short.seconds / 2 < seconds < short.seconds * 2, (seconds, short.seconds)
