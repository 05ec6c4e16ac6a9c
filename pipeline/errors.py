"""One exception family for expected failures; the CLI maps them to exit codes."""

from __future__ import annotations


class TokenriskError(Exception):
    """An expected failure with a one-line message for the user."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(TokenriskError):
    """Bad input from the user: a date, a path, a source name (exit 2)."""

    exit_code = 2


class SourceError(TokenriskError):
    """A source answered with an error or a body we cannot read (exit 1)."""


class ParseError(SourceError):
    """A response body does not have the expected shape."""


class GateFailed(TokenriskError):
    """A data-quality gate failed: nothing downstream is published (exit 1)."""

    def __init__(self, message: str, results: list | None = None) -> None:
        super().__init__(message)
        self.results = results or []


class StoreError(TokenriskError):
    """The object store holding the data dir failed or refused a request (exit 1)."""
