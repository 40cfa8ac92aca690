"""Channels render; they never send. One module per channel behind `base.Channel`.

- `email` — personalised HTML + text per contact, `.ics` attached, RFC 8058 unsubscribe.
- `radio` — 30/60-second spots and a presenter's brief per station and language.
- `flyer` — printable PDFs (A4, A5, bilingual, large print) with a QR code and short code.
- `partner_pack` — a zip per partner with flyers, radio scripts, copy and a guide.

`materials.render_materials` renders everything that is per language (not per contact)
for a wave and records it; `checks.check_channels` finds template problems before launch.
"""
