"""`outreach preview CAMPAIGN.yaml --out DIR [--lang xx]`: sample emails a person can open."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outreach.cli.app import (
    EXIT_USAGE,
    WorkdirOption,
    app,
    console,
    err_console,
    settings_for,
    user_errors,
)


@app.command()
def preview(
    campaign: Annotated[Path, typer.Argument(help="Campaign spec (YAML).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the .eml files.")],
    lang: Annotated[
        list[str] | None,
        typer.Option("--lang", metavar="LANG", help="Only this language (repeatable)."),
    ] = None,
    barriers: Annotated[
        list[str] | None,
        typer.Option(
            "--barrier",
            metavar="ID",
            help="Show the follow-up answer for this barrier (time, childcare, ...; repeatable).",
        ),
    ] = None,
    workdir: WorkdirOption = None,
) -> None:
    """Write one invitation email per language (`<lang>.eml`) for a sample recipient.

    Open the files with any mail program to see exactly what contacts will get: both
    parts, the calendar invitation and the unsubscribe headers. Nothing is sent.
    """
    from outreach.campaign import load_campaign
    from outreach.channels.email import EmailRecipient, render_emails, to_mime

    settings = settings_for(workdir)
    with user_errors():
        spec = load_campaign(campaign)
        languages = list(lang or spec.target_languages)
        unknown = [code for code in languages if code not in spec.target_languages]
        if unknown:
            err_console.print(
                f"[bold red]Not a target language of {spec.id}:[/] {', '.join(unknown)} "
                f"(target languages: {', '.join(spec.target_languages)})"
            )
            raise typer.Exit(EXIT_USAGE)
        answers = []
        for barrier in barriers or []:
            if barrier not in spec.barrier_answers:
                err_console.print(
                    f"[bold red]No answer for barrier {barrier!r} in barrier_answers[/] "
                    f"(known: {', '.join(spec.barrier_answers) or 'none'})"
                )
                raise typer.Exit(EXIT_USAGE)
            answers.append(spec.barrier_answers[barrier])
        recipients = [
            EmailRecipient(
                delivery_id=0,
                contact_pk=0,
                name="Sample Recipient",
                email="sample.recipient@example.org",
                language=code,
            )
            for code in languages
        ]
        messages = render_emails(spec, settings, 1, recipients, barrier_answers=answers)
        out.mkdir(parents=True, exist_ok=True)
        for message in messages:
            path = out / f"{message.language}.eml"
            path.write_bytes(to_mime(message).as_bytes())
            console.print(f"  {path}", markup=False, highlight=False)
    console.print(f"[bold green]{len(messages)} preview email(s) written.[/] Nothing was sent.")
