"""Typed errors of the package.

Library functions raise these; only the command line (:mod:`sim.cli`) turns them
into a one-line ``error: ...`` on stderr and a non-zero exit (``exit_code``).
Each message is one line naming the offending key, value, file or folder.
"""

from __future__ import annotations


class SimError(Exception):
    """Bad input or state the user can fix; the message is one line."""

    exit_code = 2


class ConfigError(SimError, ValueError):
    """A configuration value is invalid; the message is one line naming key and value."""


class StudyFailed(SimError):
    """A study ran but its result is a failure (e.g. a stylized fact outside its target)."""

    exit_code = 1
