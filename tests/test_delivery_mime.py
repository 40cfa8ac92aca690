"""The bytes a message becomes: parsed back by the standard library as a mail program would."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

from outreach.delivery.mime import message_bytes, to_mime
from outreach.message import Attachment, Message

NOON = datetime(2027, 4, 14, 11, 0, tzinfo=UTC)


def _message(**changes: object) -> Message:
    fields: dict[str, object] = {
        "delivery_id": 42, "campaign_id": "the-way-ahead", "wave": 2, "channel": "email",
        "language": "bn", "to_address": "ana@example.org", "to_name": "আনা Lima",
        "from_address": "hello@thewayahead.org.uk", "from_name": "The Way Ahead",
        "subject": "আমন্ত্রণ: The Way Ahead", "html": "<p>হ্যালো আনা</p>\n",
        "text": "হ্যালো আনা\n" + "a long line " * 20 + "\n", "token": "t",
        "headers": {"Content-Language": "bn", "List-Unsubscribe": "<https://rsvp.example.org/u/"
                    + "x" * 180 + ">"},
        "attachments": [Attachment("invitation.ics", "text/calendar; method=PUBLISH",
                                   b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")],
    }  # fmt: skip
    fields.update(changes)
    return Message(**fields)  # type: ignore[arg-type]


def _parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def test_every_part_reads_back_exactly() -> None:
    message = _message()
    parsed = _parse(message_bytes(message, now=NOON))

    assert parsed["To"].addresses[0].display_name == "আনা Lima"
    assert parsed["Subject"] == "আমন্ত্রণ: The Way Ahead"
    assert parsed["Message-ID"] == "<d42.w2.the-way-ahead@thewayahead.org.uk>"
    assert parsed["Date"].datetime == NOON
    # Mail programs need the one-click URL verbatim: never folded or encoded.
    assert parsed["List-Unsubscribe"] == message.headers["List-Unsubscribe"]
    assert parsed.get_content_type() == "multipart/mixed"
    assert parsed.get_body(("plain",)).get_content() == message.text
    assert parsed.get_body(("html",)).get_content() == message.html
    [ics] = list(parsed.iter_attachments())
    assert ics.get_filename() == "invitation.ics"
    assert ics.get_content_type() == "text/calendar" and ics["Content-Type"].params["method"]
    assert ics.get_content().encode() == b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    assert not parsed.defects and all(not part.defects for part in parsed.walk())


def test_the_standard_library_writes_the_same_bytes_back() -> None:
    # The stdlib generator keeps our boundaries, so previews show what is sent.
    for message in (_message(), _message(attachments=[])):
        assert to_mime(message, now=NOON).as_bytes() == message_bytes(message, now=NOON)


def test_same_row_same_ids_so_a_resend_after_a_crash_is_recognised() -> None:
    first, again = message_bytes(_message(), now=NOON), message_bytes(_message(), now=NOON)
    assert first == again
    other = _parse(message_bytes(_message(delivery_id=43), now=NOON))
    assert other["Message-ID"] != _parse(first)["Message-ID"]


def test_a_line_break_in_a_name_cannot_add_a_header() -> None:
    sneaky = _message(to_name="Ana\r\nBcc: everyone@example.net", subject="Hi\nX-Evil: 1")
    parsed = _parse(message_bytes(sneaky))
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    assert "everyone@example.net" in parsed["To"].addresses[0].display_name


def test_smtp_form_has_crlf_line_ends_only() -> None:
    raw = message_bytes(_message(), linesep="\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert _parse(raw).get_body(("plain",)).get_content().replace("\r\n", "\n") == _message().text


def test_attachment_with_a_non_ascii_name() -> None:
    pack = Attachment("পরিচিতি-pack.zip", "application/zip", b"PK\x05\x06" + b"\0" * 18)
    parsed = _parse(message_bytes(_message(attachments=[pack])))
    [part] = list(parsed.iter_attachments())
    assert part.get_filename() == "পরিচিতি-pack.zip"
    assert part.get_content() == pack.data
