"""The HTML error pages a client meets in front of Odoo (werkzeug's and nginx's)."""

from __future__ import annotations

from aiohttp import web

__all__ = [
    "bad_gateway",
    "bad_request",
    "too_many_requests",
]


def bad_request(description: str) -> web.Response:
    """werkzeug's 400 page, for a body that is not JSON."""
    body = (
        "<!doctype html>\n<html lang=en>\n<title>400 Bad Request</title>\n<h1>Bad Request</h1>\n"
        f"<p>{description}</p>\n"
    )
    return web.Response(status=400, text=body, content_type="text/html")


def bad_gateway() -> web.Response:
    """nginx's 502 page (Odoo worker killed or restarting)."""
    body = (
        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
        "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    return web.Response(status=502, text=body, content_type="text/html")


def too_many_requests(retry_after: int = 1) -> web.Response:
    """A rate limiter's 429 page."""
    body = (
        "<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n"
        "<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    return web.Response(status=429, text=body, content_type="text/html", headers={"Retry-After": str(retry_after)})
