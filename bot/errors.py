"""The small family of errors a user can act on.

Messages are written for the person reading the PR comment, the commit status or
the action log: say what is wrong and what to do next. Anything else is a bug.
"""

from __future__ import annotations


class ModelReviewError(Exception):
    """Base of every error whose message is meant for the user. `transient`: a
    dependency was down or busy (refused, timed out, 5xx, 429), so the same review may
    succeed later; anything else (a bad config, a refused permission) would not."""

    exit_code = 1
    transient = False

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(ModelReviewError):
    """The command line was wrong."""

    exit_code = 2


class ConfigError(ModelReviewError):
    """`.github/model-review.yml` is invalid; names the key and, when known, the line."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        key: str | None = None,
        line: int | None = None,
        source: str = ".github/model-review.yml",
    ) -> None:
        where = source
        if line is not None:
            where += f", line {line}"
        text = f"{where}: {'`' + key + '`: ' if key else ''}{message}"
        super().__init__(text, hint="fix the config on the base branch and re-run")
        self.key = key
        self.line = line
        self.source = source


class NotFoundError(ModelReviewError):
    """An operator command named a registered model or version that does not exist."""

    exit_code = 3


class RefusedError(ModelReviewError):
    """An operator command was understood and refused (e.g. rolling back to a version
    that was never approved); the message says why and how to insist."""

    exit_code = 4


class TrackingError(ModelReviewError):
    """MLflow could not be reached or answered with an error."""

    def __init__(self, message: str, hint: str | None = None, *, transient: bool = False) -> None:
        super().__init__(message, hint)
        self.transient = transient


class GitHubError(ModelReviewError):
    """GitHub answered with an error the bot could not work around."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        status: int | None = None,
        rate_limited: bool = False,
        unreachable: bool = False,
    ) -> None:
        super().__init__(message, hint)
        self.status = status  # the HTTP status GitHub answered with, when there was one
        self.rate_limited = rate_limited  # a rate limit, not a permission (403 is both)
        busy = status is not None and (status >= 500 or status == 429)
        self.transient = unreachable or rate_limited or busy


# `model-review evaluate`'s exit codes (its --help lists them)
EXIT_UNLOADABLE = 3  # a model could not be loaded, or there is no production model
EXIT_NO_LABEL = 4  # rows without a label
EXIT_NO_OVERLAP = 5  # the data lacks a model's input columns
EXIT_ROWS = 6  # rows that do not pair: repeated ids, or predictions that do not line up
EXIT_REQUIREMENTS = 7  # logged, but a model's requirements differ from this environment


class EvaluationError(ModelReviewError):
    """`model-review evaluate` cannot score the models on the data; the exit code says
    which case (the EXIT_* values above)."""

    def __init__(self, message: str, exit_code: int, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.exit_code = exit_code
