"""What the command line promises the shell: its exit statuses, and the error for a bad command line."""

from __future__ import annotations

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_TRAINING_FAILED = 3  # training ran but diverged, saturated or killed its units (a TrainingWarning)
EXIT_INTERRUPTED = 130  # the shell's convention for "stopped by SIGINT"


class UsageError(Exception):
    """A bad command line; the message is the one line the user sees."""
