"""The errors of reading and fetching data."""

from __future__ import annotations


class DatasetError(ValueError):
    """A data file is malformed: wrong magic number, truncated, counts that disagree, bad digest."""


class FetchError(OSError):
    """A dataset could not be downloaded (offline, server error); the message says what to do."""
