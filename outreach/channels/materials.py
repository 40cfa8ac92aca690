"""Render a wave's materials (per language and channel, never per contact) and record them.

```python
from outreach.channels.materials import render_materials, pack_path

materials = render_materials(store, spec, settings, wave=1)   # list[Material] rows
pack_path(settings, spec.id, 1, "betar-fm")  # .../wave-1/partner-packs/betar-fm.zip
```

Layout under `<workdir>/materials/<campaign>/wave-<n>/`:

- `flyers/<lang>/flyer-<lang>-a4.pdf`, `-a5.pdf`, `-a4-large-print.pdf`, `-a4-bilingual.pdf`
  (general editions) and `flyer-<lang>-a4-<point>.pdf` (one per distribution point that
  serves the language, its QR code naming the point);
- `radio/<station>/<lang>/spot-30s.txt`, `spot-60s.txt`, `presenter-brief.txt`,
  `radio-scripts-<station>-<lang>.pdf`, `spot-*-preview.wav` (with espeak-ng);
- `partner-packs/<partner>.zip`;
- `README.md`: what is where, with each item's tracking code.

Idempotent: a material already recorded whose file is intact is not rendered again (PDF
rendering is the slow part); `force=True` re-renders. Rows are unique per (campaign, wave,
channel, language, kind, placement) and their paths are relative to the work directory.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from outreach.campaign import CampaignSpec
from outreach.channels import _i18n
from outreach.channels.base import Artifact
from outreach.channels.codes import issue_code
from outreach.channels.flyer import FlyerEdition, editions, render_flyer
from outreach.channels.partner_pack import PartnerInfo, build_pack, pack_languages, split_languages
from outreach.channels.radio import render_radio
from outreach.settings import Settings
from outreach.store import Store
from outreach.store.models import Material, Partner
from outreach.tracking.tokens import TokenPayload

log = logging.getLogger(__name__)

_Key = tuple[str, str, str, str]  # channel, language, kind, placement


def wave_dir(settings: Settings, campaign_id: str, wave: int) -> Path:
    return settings.materials_dir / campaign_id / f"wave-{wave}"


def pack_path(settings: Settings, campaign_id: str, wave: int, partner_id: str) -> Path:
    """Where a partner's pack zip is written (and where delivery attaches it from)."""
    return wave_dir(settings, campaign_id, wave) / "partner-packs" / f"{partner_id}.zip"


@dataclass
class _Job:
    key: _Key  # the material whose presence means the job is done
    kinds: Callable[[str], bool]  # which recorded kinds belong to this job
    render: Callable[[], list[Artifact]]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # A unique temporary name: chunks of one wave may render in parallel threads/processes.
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)  # readers never see half a PDF
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _key(row: Material) -> _Key:
    return (row.channel, row.language, row.kind, row.placement)


def _intact(settings: Settings, row: Material) -> bool:
    path = settings.workdir / row.path
    return path.is_file() and _sha256(path.read_bytes()) == row.sha256


class _Recorder:
    """Writes artifacts and upserts their `Material` rows."""

    def __init__(self, store: Store, spec: CampaignSpec, settings: Settings, wave: int) -> None:
        self.store, self.spec, self.settings, self.wave = store, spec, settings, wave
        self.root = wave_dir(settings, spec.id, wave)
        with store.session() as session:
            rows = session.scalars(
                select(Material).where(Material.campaign_id == spec.id, Material.wave == wave)
            ).all()
        self.rows: dict[_Key, Material] = {_key(row): row for row in rows}

    def done(self, job: _Job) -> list[Material] | None:
        row = self.rows.get(job.key)
        if row is None or not _intact(self.settings, row):
            return None
        channel, language, _kind, placement = job.key
        return [
            r
            for key, r in self.rows.items()
            if key[0] == channel
            and key[1] == language
            and key[3] == placement
            and job.kinds(key[2])
        ]

    def record(self, artifacts: Iterable[Artifact]) -> list[Material]:
        out = []
        with self.store.session() as session:
            for artifact in artifacts:
                path = self.root / artifact.relpath
                _write(path, artifact.data)
                key = (artifact.channel, artifact.language, artifact.kind, artifact.placement)
                row = session.scalars(
                    select(Material).where(
                        Material.campaign_id == self.spec.id,
                        Material.wave == self.wave,
                        Material.channel == key[0],
                        Material.language == key[1],
                        Material.kind == key[2],
                        Material.placement == key[3],
                    )
                ).first()
                if row is None:
                    row = Material(
                        campaign_id=self.spec.id,
                        wave=self.wave,
                        channel=artifact.channel,
                        language=artifact.language,
                        kind=artifact.kind,
                        placement=artifact.placement,
                    )
                    session.add(row)
                row.path = str(path.relative_to(self.settings.workdir))
                row.sha256 = _sha256(artifact.data)
                row.short_code = artifact.short_code
                session.flush()
                self.rows[key] = row
                out.append(row)
        return out


def _partners(store: Store, partner_ids: Sequence[str] | None) -> list[PartnerInfo]:
    with store.session() as session:
        query = select(Partner).order_by(Partner.partner_id)
        if partner_ids is not None:
            query = query.where(Partner.partner_id.in_(list(partner_ids)))
        return [
            PartnerInfo(
                partner_id=row.partner_id,
                name=row.name,
                kind=row.kind,
                languages=split_languages(row.languages),
                email=row.email,
            )
            for row in session.scalars(query)
        ]


def _flyer_job(
    store: Store,
    spec: CampaignSpec,
    settings: Settings,
    wave: int,
    language: str,
    edition: FlyerEdition,
    point: str | None,
) -> _Job:
    placement = point or ""
    suffix = f"-{point}" if point else ""

    def render() -> list[Artifact]:
        payload = TokenPayload(spec.id, wave, "flyer", language, point=point)
        code = issue_code(store, payload)
        where = f" for {point}" if point else ""
        return [
            Artifact(
                channel="flyer",
                kind=edition.kind,
                language=language,
                placement=placement,
                relpath=f"flyers/{language}/flyer-{language}-{edition.suffix}{suffix}.pdf",
                data=render_flyer(spec, settings, payload, code, edition),
                short_code=code,
                description=f"{edition.kind} flyer in {language}{where}",
            )
        ]

    return _Job(("flyer", language, edition.kind, placement), lambda k: k == edition.kind, render)


def render_materials(
    store: Store,
    spec: CampaignSpec,
    settings: Settings,
    wave: int,
    *,
    languages: Sequence[str] | None = None,
    partner_ids: Sequence[str] | None = None,
    force: bool = False,
    audio: bool = True,
) -> list[Material]:
    """Flyers, radio scripts and partner packs for `wave`, written and recorded (idempotent).

    `languages` limits the languages (default: all target languages); `partner_ids` limits
    radio stations and partner packs to those partners (default: every partner).
    """
    wanted = [lang for lang in spec.target_languages if languages is None or lang in set(languages)]
    enabled = set(spec.channels.enabled())
    recorder = _Recorder(store, spec, settings, wave)
    jobs: list[_Job] = []

    if "flyer" in enabled:
        first_size = spec.channels.flyer.sizes[0] if spec.channels.flyer.sizes else "A4"
        point_edition = FlyerEdition(f"flyer-{first_size.lower()}", first_size)
        for language in wanted:
            for edition in editions(spec, language):
                jobs.append(_flyer_job(store, spec, settings, wave, language, edition, None))
            for point in spec.channels.flyer.distribution_points:
                if language in (point.languages or spec.target_languages):
                    jobs.append(
                        _flyer_job(store, spec, settings, wave, language, point_edition, point.id)
                    )

    partners = _partners(store, partner_ids) if enabled & {"radio", "partner_pack"} else []
    stations = [p for p in partners if p.is_station] if "radio" in enabled else []
    for station in stations:
        for language in pack_languages(spec, station.languages, wanted):

            def render_station(station: PartnerInfo = station, language: str = language):
                payload = TokenPayload(spec.id, wave, "radio", language, partner=station.partner_id)
                code = issue_code(store, payload)
                return render_radio(
                    spec,
                    settings,
                    wave,
                    station.partner_id,
                    station.name,
                    language,
                    code,
                    audio=audio,
                )

            jobs.append(
                _Job(
                    ("radio", language, "radio-pdf", station.partner_id),
                    lambda kind: kind.startswith("radio-"),
                    render_station,
                )
            )

    results: list[Material] = []
    for job in jobs:
        results.extend(_run(recorder, job, force))

    if "partner_pack" in enabled:
        for partner in partners:
            results.extend(
                _run(
                    recorder,
                    _pack_job(store, spec, settings, wave, partner, wanted, recorder),
                    force,
                )
            )

    _write_index(recorder)
    counts = Counter(row.kind for row in results)
    log.info("materials for %s wave %s: %s", spec.id, wave, dict(sorted(counts.items())))
    return results


def _run(recorder: _Recorder, job: _Job, force: bool) -> list[Material]:
    if not force:
        existing = recorder.done(job)
        if existing is not None:
            return existing
    return recorder.record(job.render())


def _pack_job(
    store: Store,
    spec: CampaignSpec,
    settings: Settings,
    wave: int,
    partner: PartnerInfo,
    wanted: list[str],
    recorder: _Recorder,
) -> _Job:
    langs = pack_languages(spec, partner.languages, wanted)
    main = langs[0] if langs else spec.source_language

    def render() -> list[Artifact]:
        radio_files: list[tuple[str, bytes]] = []
        radio_codes: list[tuple[str, str]] = []
        for key, row in sorted(recorder.rows.items()):
            channel, language, kind, placement = key
            if channel != "radio" or placement != partner.partner_id or language not in langs:
                continue
            if kind.endswith(("-txt", "-pdf")) or kind == "radio-pdf":
                path = settings.workdir / row.path
                if path.is_file():
                    radio_files.append((f"radio/{language}/{path.name}", path.read_bytes()))
            if kind == "radio-pdf" and row.short_code:
                radio_codes.append((language, row.short_code))
        relpath = str(
            pack_path(settings, spec.id, wave, partner.partner_id).relative_to(recorder.root)
        )
        return [
            build_pack(
                spec,
                settings,
                wave,
                partner,
                code_for=lambda payload: issue_code(store, payload),
                radio_files=radio_files,
                radio_codes=radio_codes,
                languages=wanted,
                relpath=relpath,
            )
        ]

    return _Job(("partner_pack", main, "pack", partner.partner_id), lambda k: k == "pack", render)


def _write_index(recorder: _Recorder) -> None:
    """README.md in the wave folder: every material, its language, placement and code.

    Read from the store, so chunks rendered in parallel all end up in the index.
    """
    with recorder.store.session() as session:
        rows = list(
            session.scalars(
                select(Material)
                .where(Material.campaign_id == recorder.spec.id, Material.wave == recorder.wave)
                .order_by(Material.channel, Material.placement, Material.language, Material.kind)
            )
        )
    root = recorder.root
    lines = [
        f"# Materials for {recorder.spec.id}, wave {recorder.wave}",
        "",
        "Rendered by `outreach` per language and channel. Each item's code is what a reader "
        "or listener can quote so a reply is attributed to it; QR codes and links carry a "
        "signed token naming the same campaign, wave, channel, language and place.",
        "",
        f"{sum(1 for r in rows if r.path.endswith('.pdf'))} PDF files, "
        f"{sum(1 for r in rows if r.path.endswith('.wav'))} audio previews, "
        f"{sum(1 for r in rows if r.kind == 'pack')} partner packs.",
        "",
        "| channel | kind | language | for | code | file |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        relative = os.path.relpath(recorder.settings.workdir / row.path, root)
        name = _language_name(row.language)
        lines.append(
            f"| {row.channel} | {row.kind} | {name} | {row.placement or 'everyone'} | "
            f"{row.short_code or ''} | [{relative}]({relative}) |"
        )
    root.mkdir(parents=True, exist_ok=True)
    _write(root / "README.md", ("\n".join(lines) + "\n").encode("utf-8"))


def _language_name(code: str) -> str:
    try:
        info = _i18n.language_info(code)
    except KeyError:
        return code
    return f"{info.name} ({code})"


def summarise(materials: Iterable[Material]) -> dict[str, int]:
    """Counts by kind (ids and counts only: safe for Prefect artifacts and logs)."""
    return dict(sorted(Counter(row.kind for row in materials).items()))
