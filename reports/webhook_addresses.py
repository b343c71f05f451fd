"""Which webhook addresses the server may post to (pure: no Django).

A webhook makes the server send a request wherever its URL points. Pointed at the server's
own network (a database, a cloud's metadata service, an admin page on loopback) that is a
server-side request forgery, so an address whose host resolves to a private, loopback,
link-local, multicast, reserved or unspecified address is refused, at creation and again
at each delivery: the name may resolve elsewhere by then. The delivery connects to the
address checked here, never resolving the name a second time.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

SCHEMES = ("http", "https")
MAX_URL_LENGTH = 2000

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedAddress(ValueError):
    """The URL cannot be a webhook's; the message says why, for the person who sent it."""


class UnresolvedHost(RefusedAddress):
    """The host does not resolve (now): refused at creation, tried again at delivery."""


@dataclass(frozen=True)
class Destination:
    """A webhook URL taken apart, with the addresses its host resolved to."""

    scheme: str
    host: str  # as in the URL (the Host header and the TLS server name)
    port: int
    target: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]


def _why_not_public(address: IPAddress) -> str | None:
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:  # ::ffff:127.0.0.1 is 127.0.0.1
        address = mapped
    for test, words in (("is_loopback", "a loopback address"),
                        ("is_link_local", "a link-local address"),
                        ("is_multicast", "a multicast address"),
                        ("is_unspecified", "an unspecified address"),
                        ("is_reserved", "a reserved address"),
                        ("is_private", "a private address")):
        if getattr(address, test):
            return words
    if not address.is_global:  # shared (100.64/10) and the like
        return "not a public address"
    return None


def split_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path and query) of an http(s) URL, or RefusedAddress."""
    if not isinstance(url, str) or not url.strip():
        raise RefusedAddress("give the address to post to, e.g. https://hooks.slack.com/…")
    if len(url) > MAX_URL_LENGTH:
        raise RefusedAddress(f"at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise RefusedAddress(f"{url!r} is not a URL: {exc}") from None
    if parts.scheme.lower() not in SCHEMES:
        raise RefusedAddress(f"only http and https addresses can receive webhooks, not "
                             f"{parts.scheme or 'a URL without a scheme'!r}")
    if not parts.hostname:
        raise RefusedAddress(f"{url!r} names no host")
    if parts.username is not None or parts.password is not None:
        raise RefusedAddress("put no user name or password in the address")
    scheme = parts.scheme.lower()
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80), target


def resolve(host: str, port: int) -> tuple[str, ...]:
    """The addresses `host` resolves to, in the resolver's order, or RefusedAddress."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise UnresolvedHost(f"the host {host!r} cannot be resolved ({exc})") from None
    seen: list[str] = []
    for *_, sockaddr in infos:
        if sockaddr[0] not in seen:
            seen.append(sockaddr[0])
    if not seen:
        raise UnresolvedHost(f"the host {host!r} resolves to no address")
    return tuple(seen)


def check_url(url: str, *, allow_private: bool) -> Destination:
    """The URL's destination when the server may post to it, else RefusedAddress.

    Every address the host resolves to must be public: a name with one public and one
    private address could be answered either way at connection time.
    """
    scheme, host, port, target = split_url(url)
    addresses = resolve(host, port)
    if not allow_private:
        for text in addresses:
            why = _why_not_public(ipaddress.ip_address(text.split("%", 1)[0]))
            if why:
                shown = "" if text == host.strip("[]") else f" resolves to {text}, which"
                raise RefusedAddress(
                    f"the host {host!r}{shown} is {why}: webhooks go to public "
                    "addresses only (WEBHOOK_ALLOW_PRIVATE=true lets an operator allow it)")
    return Destination(scheme=scheme, host=host, port=port, target=target,
                       addresses=addresses)
