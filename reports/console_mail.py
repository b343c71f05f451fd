"""The email backend of a server without EMAIL_HOST: each message printed for a person to read.

Django's console backend prints the whole MIME message, so a report's PDF fills the terminal
with hundreds of lines of base64. This one prints the headers, the plain-text body (where
a sign-in or invitation link can be copied from) and one line per other part: an
attachment's name, type and size, an HTML alternative's size.
"""

from email.header import decode_header, make_header

from django.core.mail.backends import console


def _header(value: str) -> str:
    """A header as a person reads it (RFC 2047 encoded words decoded)."""
    try:
        return str(make_header(decode_header(value)))
    except (UnicodeDecodeError, LookupError, ValueError):
        return value


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} bytes"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KB"
    return f"{count / (1024 * 1024):.1f} MB"


def describe(message) -> str:
    """The printed form of an EmailMessage: headers, text bodies, a line per other part."""
    mime = message.message()
    lines = [f"{name}: {_header(value)}" for name, value in mime.items()
             if name.lower() not in ("mime-version", "content-type", "content-transfer-encoding")]
    lines.append("")
    for part in mime.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        if content_type == "text/plain" and not filename and not part.get_content_disposition():
            charset = part.get_content_charset() or "utf-8"
            lines.append(payload.decode(charset, errors="replace").rstrip("\n"))
            lines.append("")
        elif filename:
            lines.append(f"[attachment: {_header(filename)} ({content_type}, "
                         f"{_size(len(payload))})]")
        else:
            lines.append(f"[{content_type} part, {_size(len(payload))}]")
    return "\n".join(lines).rstrip("\n") + "\n"


class EmailBackend(console.EmailBackend):
    def write_message(self, message) -> None:
        self.stream.write(describe(message))
        self.stream.write("-" * 79)
        self.stream.write("\n")
