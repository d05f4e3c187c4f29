"""An open PR's gate decided again without writing anything (for a merge group).

The same re-check as at merge time before a promotion (bot.handlers.gating
`decide_again`, which bot.handlers.closed uses too): the runs are fetched again and
compared with the fingerprint in the bot's state (a run changed since the approvals
makes them stale), and the reviews are judged against the slots as assigned. Nobody
is assigned, no comment is written. A PR that links no run is judged as its own review
judges it (bot.review.decision `no_model`); references that resolve to nothing fail;
a PR with runs the bot never reviewed fails (nobody was ever asked to review it).
"""

from __future__ import annotations

import fnmatch

from bot.domain import GateDecision, GateState
from bot.handlers.context import Deps, load_conversation, load_pr_config
from bot.handlers.gating import decide_again
from bot.review.decision import UNRESOLVED, no_model, not_checked
from bot.review.pipeline import ReviewRequest, build_review
from bot.review.privacy import must_not_publish

NOT_REVIEWED = "links runs model-review has not reviewed yet"
NO_ALLOW_LIST = "this public repository has no allow-list"


def recheck_open(number: int, deps: Deps) -> GateDecision:
    """The PR's gate now, as its review would set it, with nothing written."""
    gh = deps.github
    pr = gh.pull_request(number, with_files=False)
    thread = load_conversation(deps, pr)
    config = load_pr_config(deps, pr)
    if must_not_publish(pr.private, config.mlflow):
        return not_checked(NO_ALLOW_LIST)
    runs = deps.runs(config)
    report = build_review(ReviewRequest(texts=thread.texts, commits=pr.commits), runs, config)
    if not report.candidates:
        if report.unresolved:
            return GateDecision(GateState.FAILURE, UNRESOLVED)
        globs = config.require_review_for
        files = gh.changed_files(number) if globs else ()
        return no_model([f for f in files if any(fnmatch.fnmatchcase(f, g) for g in globs)])
    state = thread.previous
    if state is None:
        return GateDecision(GateState.FAILURE, NOT_REVIEWED)
    reviews = gh.reviews(number)
    people, now = thread.people, deps.now()
    decided = decide_again(people, state, report, pr=pr, config=config, reviews=reviews, now=now)
    return decided.gate
