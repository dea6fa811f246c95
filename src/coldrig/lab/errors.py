"""Errors the lab reports to its user."""


class LabError(Exception):
    """A failure with a one-line message that says what is wrong and how to fix it."""
