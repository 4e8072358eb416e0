"""Errors a service raises when a request cannot be served; each carries its HTTP status.

Services never import Flask: they raise these with a Spanish message for the
user, and `geo_app.security` renders them like any HTTP error (the error page,
or ``{"error": message}`` for JSON). An empty message shows the status's
standard text.
"""

from __future__ import annotations

__all__ = [
    "ConflictError",
    "ForbiddenError",
    "InvalidRequestError",
    "NotFoundError",
    "RequestError",
]


class RequestError(Exception):
    """A request that cannot be served as asked; `status` is its HTTP status code."""

    status = 400


class InvalidRequestError(RequestError, ValueError):
    """A field of the request is wrong (400); the message says which and how to fix it."""

    status = 400


class ForbiddenError(RequestError):
    """The account may not do this (403)."""

    status = 403


class NotFoundError(RequestError, LookupError):
    """It does not exist or is outside the account's scope (404): the two look the same."""

    status = 404


class ConflictError(RequestError):
    """Someone else changed it since the form was opened (409)."""

    status = 409
