"""How the GitHub adapter calls GitHub: urllib3 retries for 5xx, rate limits waited out
up to `RetryPolicy.max_rate_limit_wait` seconds (beyond that a GitHubError saying when
the limit resets), and PyGithub's exceptions translated into GitHubErrors (`calling`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from bot.errors import GitHubError
from bot.githost import data as gd
from bot.githost.data import RetryPolicy

if TYPE_CHECKING:
    from github.GithubException import GithubException
    from urllib3.util.retry import Retry

log = logging.getLogger(__name__)

PER_PAGE = 100
# PyGithub's pacing for the App's own requests (rare). A repository's writes are paced
# by bot.githost.pacing.WritePacer instead: a review's few writes at once, then one a second.
SECONDS_BETWEEN_REQUESTS = 0.25
SECONDS_BETWEEN_WRITES = 1.0


def make_retry(policy: RetryPolicy) -> Retry:
    """PyGithub's GithubRetry, plus: 429s are retried after their reset, and a wait
    longer than the policy allows raises RateLimitExceededExceedsMaxWait at once."""
    from github import GithubRetry
    from github.GithubException import RateLimitExceededExceedsMaxWait

    class CappedRetry(GithubRetry):
        rate_limit_wait: float | None = None  # a 429's reset, used as the next backoff

        def get_backoff_time(self) -> float:
            wait = self.rate_limit_wait
            return float(super().get_backoff_time()) if wait is None else wait

        def increment(
            self,
            method: Any = None,
            url: Any = None,
            response: Any = None,
            error: Any = None,
            _pool: Any = None,
            _stacktrace: Any = None,
        ) -> Any:
            wait = (
                None if response is None else gd.rate_limit_wait(response.status, response.headers)
            )
            cap = self.max_rate_limit_wait
            if wait is not None and cap is not None and wait > cap:
                headers = dict(response.headers)
                raise RateLimitExceededExceedsMaxWait(response.status, None, headers, wait=wait)
            retry = super().increment(method, url, response, error, _pool, _stacktrace)
            if wait is not None and response.status == 429 and isinstance(retry, CappedRetry):
                retry.rate_limit_wait = wait
            return retry

    return CappedRetry(
        total=policy.total,
        backoff_factor=policy.backoff_factor,
        status_forcelist=[*range(500, 600), 429],
        allowed_methods={"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "POST", "PATCH"},
        raise_on_status=False,  # the last answer reaches PyGithub, which raises with it
        max_rate_limit_wait=policy.max_rate_limit_wait,
        secondary_rate_wait=policy.secondary_rate_wait,
    )


def _rate_limit(exc: GithubException) -> tuple[float | None, bool]:
    """How long the rate limit behind `exc` lasts (None: unknown, or no limit), and
    whether PyGithub called the failure a rate limit."""
    from github.GithubException import RateLimitExceededExceedsMaxWait as TooLong
    from github.GithubException import RateLimitExceededException as Limited

    wait = exc.wait if isinstance(exc, TooLong) else gd.rate_limit_wait(exc.status, exc.headers)
    return wait, isinstance(exc, Limited)


@contextmanager
def calling(
    base_url: str, action: str, permission: str, hints: Mapping[int, str] | None = None
) -> Iterator[None]:
    """Turn PyGithub and transport failures inside the block into GitHubErrors."""
    import requests
    from github.GithubException import GithubException

    try:
        yield
    except GithubException as exc:
        wait, limited = _rate_limit(exc)
        error = gd.translate_error(exc, action, permission, hints, wait=wait, limited=limited)
        raise error from exc
    except requests.RequestException as exc:
        message = f"could not reach GitHub at {base_url} while {action}: {exc}"
        raise GitHubError(
            message, hint="check GITHUB_API_URL and the network", unreachable=True
        ) from exc
