"""`outreach translate ...`: catalogs for community reviewers, machine drafts, status.

outreach translate status [--campaign campaigns/the-way-ahead.yaml]
outreach translate export --lang so --out so.po [--format csv] [--campaign ...]
outreach translate import so.po [--lang so] [--campaign ...]
outreach translate update [--campaign ...]
outreach translate fill --lang so [--campaign ...]
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from outreach.cli.app import EXIT_PROBLEMS, WorkdirOption, app, console, settings_for, user_errors
from outreach.problems import InvalidInput, Problem

translate_app = typer.Typer(
    help="Translation catalogs: review export/import, status, update, machine drafts.",
    no_args_is_help=True,
)
app.add_typer(translate_app, name="translate")

CampaignOption = Annotated[
    str | None,
    typer.Option(
        "--campaign",
        help="Campaign spec (YAML path, or the id of campaigns/<id>.yaml) whose own strings "
        "(title, description, venue, barrier answers) are included.",
    ),
]
LangOption = Annotated[str, typer.Option("--lang", help="Language code, e.g. so, ar, zh.")]


def _spec(campaign: str | None) -> Any:
    if not campaign:
        return None
    from outreach.campaign import load_campaign
    from outreach.i18n.paths import ROOT

    path = Path(campaign)
    if not path.exists() and not path.suffix:
        candidate = ROOT / "campaigns" / f"{campaign}.yaml"
        if candidate.exists():
            path = candidate
    if not path.exists():
        raise InvalidInput(
            [Problem(campaign, None, "--campaign", "no such campaign spec (give the YAML path)")]
        )
    return load_campaign(path)


@translate_app.command("export")
def export(
    lang: LangOption,
    out: Annotated[Path, typer.Option("--out", help="File to write (.po or .csv).")],
    fmt: Annotated[
        str, typer.Option("--format", help="po (PO editors) or csv (spreadsheets).")
    ] = "",
    campaign: CampaignOption = None,
    open_only: Annotated[
        bool, typer.Option("--open-only", help="Leave out entries already approved.")
    ] = False,
    workdir: WorkdirOption = None,
) -> None:
    """Write a language's catalog for reviewers: English, current draft, and its status."""
    from outreach.i18n.review import export_catalog

    settings_for(workdir)
    chosen = (fmt or out.suffix.lstrip(".") or "po").lower()
    if chosen not in ("po", "csv"):
        raise typer.BadParameter("must be po or csv", param_hint="--format")
    with user_errors():
        path = export_catalog(lang, out, fmt=chosen, spec=_spec(campaign), only_open=open_only)
    console.print(f"Wrote {path} ({chosen}). Reviewers: see README, Translation.")


@translate_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="Reviewed .po or .csv file.")],
    lang: Annotated[
        str | None, typer.Option("--lang", help="Language (default: from the file).")
    ] = None,
    campaign: CampaignOption = None,
    reviewer: Annotated[str, typer.Option("--reviewer", help="Name recorded on approvals.")] = "",
    workdir: WorkdirOption = None,
) -> None:
    """Apply a review: reviewed entries become approved; nothing applied if a row is bad."""
    from outreach.i18n.review import import_review

    settings_for(workdir)
    with user_errors():
        result = import_review(file, lang=lang, spec=_spec(campaign), reviewer=reviewer)
    console.print(
        f"{result.language}: {result.approved} approved, {result.drafts} drafts updated, "
        f"{result.unchanged} unchanged."
    )
    for path in result.files:
        console.print(f"  updated {path}")


@translate_app.command("status")
def status(
    campaign: CampaignOption = None,
    lang: Annotated[list[str] | None, typer.Option("--lang", help="Only these languages.")] = None,
    workdir: WorkdirOption = None,
) -> None:
    """Per language: approved, draft (team / machine) and missing counts."""
    from outreach.i18n.languages import known_languages
    from outreach.i18n.review import catalog_status

    settings_for(workdir)
    with user_errors():
        spec = _spec(campaign)
        languages = lang or (
            list(spec.target_languages) if spec else [i.code for i in known_languages()]
        )
        rows = catalog_status(languages, spec)
    table = Table(title="Translation status" + (f": {spec.id}" if spec else " (templates)"))
    for name in ("language", "approved", "team drafts", "machine drafts", "missing"):
        table.add_column(name, justify="left" if name == "language" else "right")
    for row in rows:
        table.add_row(
            row.language,
            str(row.approved),
            str(row.team_drafts),
            str(row.machine_drafts),
            f"[red]{row.missing}[/]" if row.missing else "0",
        )
    console.print(table)


@translate_app.command("update")
def update(campaign: CampaignOption = None, workdir: WorkdirOption = None) -> None:
    """Re-extract messages and merge them into every catalog (changed ones become fuzzy)."""
    from outreach.i18n.update import update_campaign_catalogs, update_template_catalogs

    settings_for(workdir)
    with user_errors():
        reports = [update_template_catalogs()]
        spec = _spec(campaign)
        if spec is not None:
            reports.append(update_campaign_catalogs(spec))
    for report in reports:
        console.print(f"{report.template}: {report.messages} messages")
        for catalog in report.catalogs:
            console.print(f"  {catalog.line()}")


@translate_app.command("fill")
def fill(
    lang: Annotated[list[str], typer.Option("--lang", help="Language(s) to fill.")],
    campaign: CampaignOption = None,
    workdir: WorkdirOption = None,
) -> None:
    """Fill missing entries with machine drafts (fuzzy); approved entries are never touched."""
    from outreach.i18n.fill import fill_templates_and_campaign

    settings = settings_for(workdir)
    if settings.translator == "catalog-only":
        console.print(
            "[red]No machine translation configured.[/] Set OUTREACH_TRANSLATOR (google, deepl, "
            "microsoft, mymemory or libretranslate); see README, Translation."
        )
        raise typer.Exit(EXIT_PROBLEMS)
    problems: list[Problem] = []
    with user_errors():
        spec = _spec(campaign)
        for code in lang:
            report = fill_templates_and_campaign(settings, code, spec=spec)
            console.print(
                f"{code}: {report.filled} machine drafts written (fuzzy), "
                f"{report.kept_approved} approved and {report.kept_drafts} drafts left as they were"
            )
            problems.extend(report.problems)
        if problems:
            raise InvalidInput(problems)
