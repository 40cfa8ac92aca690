"""Find template problems before anything is rendered for real (`outreach validate`).

```python
from outreach.channels.checks import check_channels
problems = check_channels(spec, sources, settings)   # list[Problem]; empty when all is well
```

Every template of every enabled channel is rendered in every target language against the
real spec, through the same code the channels use (PDF printing excepted: it is slow and
adds nothing to what the HTML shows). With `StrictUndefined`, an undefined variable is a
`Problem` naming the template, its line and the language; so is a translation whose
placeholders do not match. Radio spots that overrun their slot and languages whose script
has no installed font are problems too. All of them are reported at once.
"""

from __future__ import annotations

import shutil
import subprocess
import traceback
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from pydantic import SecretStr

from outreach.campaign import CampaignSpec
from outreach.channels import _i18n
from outreach.channels.environment import TEMPLATES_DIR
from outreach.problems import Problem
from outreach.settings import Settings
from outreach.tracking.tokens import TokenPayload

SAMPLE_CODE = "CHECK-7K"
_ROOT = TEMPLATES_DIR.parent


def _template_location(error: BaseException) -> tuple[str, int | None]:
    """The template file and line an error came from (Jinja puts template frames in tracebacks)."""
    if isinstance(error, jinja2.TemplateSyntaxError) and error.filename:
        return _relative(error.filename), error.lineno
    if isinstance(error, jinja2.TemplateNotFound):
        return f"templates/{error.name}", None
    found: tuple[str, int | None] = ("templates", None)
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename.startswith(str(TEMPLATES_DIR)):
            found = (_relative(frame.filename), frame.lineno)
    return found


def _relative(filename: str) -> str:
    try:
        return str(Path(filename).resolve().relative_to(_ROOT))
    except ValueError:
        return filename


def _message(error: BaseException) -> str:
    if isinstance(error, jinja2.UndefinedError):
        return f"uses something that is not defined: {error.message}"
    if isinstance(error, jinja2.TemplateSyntaxError):
        return f"has a template syntax error: {error.message}"
    if isinstance(error, jinja2.TemplateNotFound):
        return "template file is missing"
    if isinstance(error, KeyError | ValueError | TypeError):
        return (
            "a translation's placeholders do not match the template "
            f"(a %(name)s placeholder is missing, misspelt or broken): {error!r}"
        )
    return f"could not be rendered: {error!r}"


def _check_settings(settings: Settings) -> Settings:
    # Checks sign sample tokens; they must not create the installation's secret key.
    return settings.model_copy(update={"secret_key": SecretStr("outreach-check-only")})


def _renderers(
    spec: CampaignSpec, settings: Settings, language: str
) -> dict[str, Callable[[], Any]]:
    """channel -> a function rendering all of that channel's templates in `language`."""
    from outreach.channels import email, flyer, partner_pack, radio

    def email_all() -> None:
        recipient = email.EmailRecipient(0, 0, "Sample Name", "sample@example.org", language)
        email.render_emails(
            spec, settings, 1, [recipient], barrier_answers=list(spec.barrier_answers.values())
        )
        nameless = email.EmailRecipient(
            0, 0, "", "sample@example.org", language, fallback_from="so"
        )
        email.render_emails(spec, settings, 1, [nameless])

    def radio_all() -> None:
        spots = radio.render_spots(spec, language, SAMPLE_CODE, "Sample Radio")
        brief = radio.render_brief(spec, language, SAMPLE_CODE, "Sample Radio")
        radio.script_html(spec, language, spots, brief, SAMPLE_CODE, "Sample Radio")

    def flyer_all() -> None:
        payload = TokenPayload(spec.id, 1, "flyer", language, point="sample")
        for edition in flyer.editions(spec, language):
            flyer.flyer_html(spec, settings, payload, SAMPLE_CODE, edition, qr=False)

    def pack_all() -> None:
        payload = TokenPayload(spec.id, 1, "partner_pack", language, partner="sample")
        partner_pack.copy_texts(spec, settings, payload, SAMPLE_CODE)
        codes = [{"channel": "radio", "language": language, "folder": "radio/", "code": "X"}]
        partner_pack.guide_html(spec, language, "Sample Partner", True, codes)
        partner_pack.pack_email_parts(spec, settings, 1, "sample", "Sample Partner", language)

    return {"email": email_all, "radio": radio_all, "flyer": flyer_all, "partner_pack": pack_all}


def check_templates(spec: CampaignSpec, settings: Settings, channel: str) -> list[Problem]:
    """Render one channel's templates in every target language; one problem per failure."""
    settings = _check_settings(settings)
    problems: list[Problem] = []
    for language in spec.target_languages:
        try:
            _i18n.language_info(language)
        except KeyError:
            continue  # reported once by check_fonts (and by the translation checks)
        try:
            _renderers(spec, settings, language)[channel]()
        except Exception as error:
            file, line = _template_location(error)
            problems.append(Problem(file, line, f"language {language}", _message(error)))
    return problems


@lru_cache(maxsize=1)
def installed_font_families() -> frozenset[str]:
    """Font families fontconfig knows (what WeasyPrint can use); empty if fc-list is missing."""
    binary = shutil.which("fc-list")
    if binary is None:
        return frozenset()
    output = subprocess.run(
        [binary, ":", "family"], capture_output=True, text=True, check=False, timeout=60
    ).stdout
    families: set[str] = set()
    for line in output.splitlines():
        families.update(part.strip().lower() for part in line.split(","))
    return frozenset(families)


def check_fonts(spec: CampaignSpec) -> list[Problem]:
    """Each target language's script needs its font installed, or flyers print boxes."""
    problems = []
    families = installed_font_families()
    source = str(spec.spec_path or f"{spec.id}.yaml")
    for language in spec.target_languages:
        try:
            info = _i18n.language_info(language)
        except KeyError:
            problems.append(
                Problem(
                    source,
                    None,
                    "target_languages",
                    f"{language!r} is not a language Outreach knows (no script, font or "
                    "direction for it in templates/locale/languages.csv)",
                )
            )
            continue
        if families and info.font_family.lower() not in families:
            problems.append(
                Problem(
                    source,
                    None,
                    "target_languages",
                    f"the font {info.font_family!r} for {info.name} ({language}) is not "
                    "installed; install it (Debian: fonts-noto-core, fonts-noto-cjk) so "
                    "printed materials do not show empty boxes",
                )
            )
    return problems


def check_channels(spec: CampaignSpec, sources: Any, settings: Settings) -> list[Problem]:
    """Every problem the channels can find before launch (templates, radio timing, fonts).

    `sources` (the loaded contacts, groups and partners) is accepted for the interface;
    the channel checks depend only on the spec.
    """
    del sources
    from outreach.channels.radio import check_spots

    problems = check_fonts(spec)
    enabled = spec.channels.enabled()
    for channel in enabled:
        problems.extend(check_templates(spec, settings, channel))
    if "radio" in enabled:
        for language in spec.target_languages:
            try:
                problems.extend(check_spots(spec, [language]))
            except Exception:
                continue  # unknown language or broken template: reported above
    return sorted(set(problems), key=lambda p: (p.file, p.field, p.row or 0, p.message))
