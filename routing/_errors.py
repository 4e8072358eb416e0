"""Exceptions of the routing package."""

from __future__ import annotations

__all__ = ["RoutingInputError"]


class RoutingInputError(ValueError):
    """Bad input to the travel model; the message is in Spanish and says how to fix it."""
