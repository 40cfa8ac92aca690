"""Community radio: 30- and 60-second spots and a presenter's brief, per station and language.

```python
from outreach.channels.radio import reading_seconds, render_radio

reading_seconds("Join us on Thursday at Toynbee Hall.", "en", words_per_minute=150)  # 2.8
artifacts = render_radio(spec, settings, wave=1, station_id="betar-fm",
                         station_name="Betar FM", language="bn", code="RADIO-7K")
```

Reading time: words per minute for scripts written with spaces; characters per minute for
scripts without (`language_info(lang).spaced` is False, e.g. Chinese), where any run of
Latin letters or digits inside (an email address, the code) still counts as one word. A
spot longer than its slot is a validation problem (`check_channels`), so it is found before
launch. The call to action carries the station's short code ("give the code RADIO-7K"), so
replies are attributed to the station. With `espeak-ng` installed, each spot also gets a
WAV preview in languages espeak speaks; without it, no WAV and no error.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outreach.campaign import CampaignSpec
from outreach.channels import _i18n
from outreach.channels.base import Artifact, Channel, event_facts, source_path, tidy_text
from outreach.channels.environment import template_env
from outreach.channels.pdf import html_to_pdf
from outreach.problems import Problem
from outreach.settings import Settings

SHORT_SLOT_LIMIT = 45  # slots up to 45 s use the short script, longer ones the full one
_LATIN_RUN = re.compile(r"[0-9A-Za-z][0-9A-Za-z@.\-_'’]*")


@dataclass(frozen=True)
class Spot:
    slot: int  # seconds on air
    text: str
    seconds: int  # estimated reading time
    rate: int  # words or characters per minute used for the estimate
    by_characters: bool

    @property
    def over(self) -> bool:
        return self.seconds > self.slot


def _counts_as_character(char: str) -> bool:
    category = unicodedata.category(char)
    return not (category.startswith(("P", "Z", "C", "S")))


def reading_seconds(
    text: str,
    language: str,
    *,
    words_per_minute: int = 150,
    characters_per_minute: int = 300,
    spaced: bool | None = None,
) -> float:
    """Seconds it takes to read `text` aloud at a steady broadcast pace."""
    if spaced is None:
        spaced = _i18n.language_info(language).spaced
    if spaced:
        words = len(text.split())
        return words * 60.0 / words_per_minute
    latin_words = len(_LATIN_RUN.findall(text))
    rest = _LATIN_RUN.sub(" ", text)
    characters = sum(1 for char in rest if _counts_as_character(char))
    return characters * 60.0 / characters_per_minute + latin_words * 60.0 / words_per_minute


def spot_template(slot: int) -> str:
    return "radio/spot_short.txt" if slot <= SHORT_SLOT_LIMIT else "radio/spot_long.txt"


def _context(spec: CampaignSpec, language: str, code: str, station_name: str) -> dict[str, Any]:
    return {
        "spec": spec,
        "facts": event_facts(spec, language),
        "code": code,
        "station_name": station_name,
        "reply_email": spec.sender.reply_to or spec.sender.email,
        "barrier_answers": list(spec.barrier_answers.values()),
        "pronunciations": sorted(spec.channels.radio.pronunciations.items()),
    }


def render_spots(
    spec: CampaignSpec, language: str, code: str, station_name: str = ""
) -> list[Spot]:
    """Every spot the campaign asks for (`channels.radio.spot_seconds`), with timings."""
    env = template_env(language, spec.id)
    radio = spec.channels.radio
    spaced = _i18n.language_info(language).spaced
    context = _context(spec, language, code, station_name)
    spots = []
    for slot in radio.spot_seconds:
        text = tidy_text(env.get_template(spot_template(slot)).render(context))
        seconds = reading_seconds(
            text,
            language,
            words_per_minute=radio.words_per_minute,
            characters_per_minute=radio.characters_per_minute,
            spaced=spaced,
        )
        spots.append(
            Spot(
                slot=slot,
                text=text,
                seconds=round(seconds + 0.49),
                rate=radio.words_per_minute if spaced else radio.characters_per_minute,
                by_characters=not spaced,
            )
        )
    return spots


def render_brief(spec: CampaignSpec, language: str, code: str, station_name: str) -> str:
    env = template_env(language, spec.id)
    context = _context(spec, language, code, station_name)
    return tidy_text(env.get_template("radio/brief.txt").render(context))


def script_html(
    spec: CampaignSpec, language: str, spots: list[Spot], brief: str, code: str, station_name: str
) -> str:
    """Spots and brief as one printable HTML page (what the PDF shows)."""
    template = template_env(language, spec.id).get_template("radio/script.html")
    return template.render(
        spec=spec, spots=spots, brief=brief, code=code, station_name=station_name
    )


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def speak_to_wav(text: str, voice: str, words_per_minute: int) -> bytes | None:
    """A WAV preview spoken by espeak-ng; None when espeak-ng is missing or fails."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "spot.wav"
        result = subprocess.run(
            [binary, "-v", voice, "-s", str(words_per_minute), "-w", str(out), "--stdin"],
            input=text.encode("utf-8"),
            capture_output=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0 or not out.exists():
            return None
        return out.read_bytes()


def render_radio(
    spec: CampaignSpec,
    settings: Settings,
    wave: int,
    station_id: str,
    station_name: str,
    language: str,
    code: str,
    *,
    audio: bool = True,
) -> list[Artifact]:
    """Text of each spot and the brief, one PDF with all of them, WAV previews if possible."""
    del settings, wave  # the code already names campaign, wave, station and language
    spots = render_spots(spec, language, code, station_name)
    brief = render_brief(spec, language, code, station_name)
    folder = f"radio/{station_id}/{language}"
    base = {"channel": "radio", "language": language, "placement": station_id, "short_code": code}
    artifacts = [
        Artifact(
            kind=f"radio-{spot.slot}s-txt",
            relpath=f"{folder}/spot-{spot.slot}s.txt",
            data=spot.text.encode("utf-8"),
            description=f"{spot.slot}-second spot, {station_name}, {language} "
            f"(about {spot.seconds} s)",
            **base,
        )
        for spot in spots
    ]
    artifacts.append(
        Artifact(
            kind="radio-brief-txt",
            relpath=f"{folder}/presenter-brief.txt",
            data=brief.encode("utf-8"),
            description=f"presenter's brief, {station_name}, {language}",
            **base,
        )
    )
    html = script_html(spec, language, spots, brief, code, station_name)
    artifacts.append(
        Artifact(
            kind="radio-pdf",
            relpath=f"{folder}/radio-scripts-{station_id}-{language}.pdf",
            data=html_to_pdf(html),
            description=f"spots and presenter's brief as PDF, {station_name}, {language}",
            **base,
        )
    )
    voice = _i18n.language_info(language).espeak_voice
    if audio and voice and espeak_available():
        for spot in spots:
            wav = speak_to_wav(spot.text, voice, spec.channels.radio.words_per_minute)
            if wav:
                artifacts.append(
                    Artifact(
                        kind=f"radio-{spot.slot}s-wav",
                        relpath=f"{folder}/spot-{spot.slot}s-preview.wav",
                        data=wav,
                        description=f"machine-voice preview of the {spot.slot}-second spot",
                        **base,
                    )
                )
    return artifacts


SAMPLE_CODE = "RADIO-7K"


def check_spots(spec: CampaignSpec, languages: list[str]) -> list[Problem]:
    """A spot that overruns its slot in any language is a problem (all reported)."""
    problems = []
    radio = spec.channels.radio
    for language in languages:
        for spot in render_spots(spec, language, SAMPLE_CODE):
            if spot.over:
                unit = "characters" if spot.by_characters else "words"
                problems.append(
                    Problem(
                        source_path(spec),
                        None,
                        "channels.radio.spot_seconds",
                        f"the {spot.slot}-second radio spot in {language} takes about "
                        f"{spot.seconds} seconds to read at {spot.rate} {unit} per minute; "
                        "shorten the event description or translation, or raise "
                        f"channels.radio.{'characters' if spot.by_characters else 'words'}"
                        "_per_minute",
                    )
                )
    del radio
    return problems


class RadioChannel(Channel):
    """The radio channel type (see module docs)."""

    name = "radio"

    def validate(self, spec: CampaignSpec, settings: Settings) -> list[Problem]:
        return check_spots(spec, list(spec.target_languages))

    def render(
        self, spec: CampaignSpec, settings: Settings, wave: int, language: str, **options: Any
    ) -> list[Artifact]:
        return render_radio(
            spec,
            settings,
            wave,
            options["station_id"],
            options["station_name"],
            language,
            options["code"],
        )
