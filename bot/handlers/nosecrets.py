"""A Dependabot pull request in the Action: no secrets, so no MLflow.

GitHub runs workflows for Dependabot's PRs like PRs from forks: a read-only
GITHUB_TOKEN and no repository secrets (Dependabot's own secrets only), so the
Action has no MLflow address. Failing closed on every dependency bump would paint a
red gate on PRs that touch no model; instead the review is neutral and says why:
`success` when no path in `require_review_for` changed, `failure` when one did (a
model change still needs its review: a maintainer's `/model-review refresh` comment
runs with the repository's secrets). A PR by anyone else without MLflow's address
gets the usual review, which fails closed and says how to set it.
"""

from __future__ import annotations

import fnmatch

from bot.handlers.context import Deps, Outcome, load_conversation, load_pr_config, publisher_for
from bot.handlers.pull_request import review_pull_request
from bot.review.decision import without_secrets
from bot.review.reviewers import Command

NO_SECRETS_BOTS = frozenset({"dependabot[bot]"})


def review_without_secrets(number: int, deps: Deps, command: Command | None = None) -> Outcome:
    """The review of a PR when the Action has no MLflow address."""
    gh = deps.github
    pr = gh.pull_request(number, with_files=False)
    if pr.author.casefold() not in NO_SECRETS_BOTS or pr.state != "open":
        return review_pull_request(number, deps, command=command)
    thread = load_conversation(deps, pr)
    config = load_pr_config(deps, pr)
    globs = config.require_review_for
    files = gh.changed_files(number) if globs else ()
    touched = [f for f in files if any(fnmatch.fnmatchcase(f, g) for g in globs)]
    decision = without_secrets(touched)
    publisher = publisher_for(deps, thread)
    publisher.use_surface(config.gate.surface)
    publisher.status(decision, config.gate.context)
    return publisher.finish(Outcome(gate=decision, notice=decision.description))
