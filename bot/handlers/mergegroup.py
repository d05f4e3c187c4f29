"""The merge queue's check: `model-review` on a merge group's commit.

A repository with a merge queue requires `model-review` on the queue's temporary
commit too (`merge_group`, action `checks_requested`), or every entry times out. The
group holds the entry's PR and the PRs ahead of it (bot.review.mergequeue). Each PR's
gate is decided again now, as at merge time (bot.handlers.recheck: its runs fetched
again and compared with what was approved, its reviews, its slots as assigned; no
comment is written and nobody is assigned), and the group's commit gets `success`
only when every PR in it is approved for its current runs and basis, else `failure`
naming the PR and why. A PR whose check fails (MLflow down) fails the group.

Requests: 1 compare and 1 config read for the group, 1 status read, at most 1 status
write (none when the status already says the same: a redelivered event writes
nothing), and per PR what the merge-time re-check costs (PR, commits, files,
comments, reviews, config; permissions and memberships of reviewers).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bot.config.schema import load_config
from bot.domain import GateDecision, GateState
from bot.errors import ModelReviewError
from bot.handlers.context import Deps, Outcome
from bot.handlers.recheck import recheck_open
from bot.review.decision import merge_group_gate
from bot.review.mergequeue import group_from_payload, prs_of

log = logging.getLogger(__name__)

NO_GROUP = "the merge_group event carries no merge group: nothing to check"


def check_merge_group(payload: Mapping[str, Any], deps: Deps) -> Outcome:
    """Set the gate on a merge group's head commit; no comment is written."""
    group = group_from_payload(payload)
    if group is None:
        return Outcome(notice=NO_GROUP)
    gh = deps.github
    config = load_config(gh.file_at(deps.config_path, group.base_sha), source=deps.config_path)
    numbers = prs_of(group, gh.group_messages(group.base_sha, group.head_sha))
    verdicts = [(number, _pr_gate(number, deps)) for number in numbers]
    decision = merge_group_gate(group.head_ref, verdicts)
    context = config.gate.context
    outcome = Outcome(
        gate=decision, notice=f"merge group {group.head_sha[:7]}: {decision.description}"
    )
    if gh.current_status(group.head_sha, context) != (decision.state, decision.description):
        gh.set_status(group.head_sha, decision.state, decision.description, context, None)
        outcome.writes.append(f"status {decision.state.value}: {decision.description}")
    return outcome


def _pr_gate(number: int, deps: Deps) -> GateDecision:
    """One PR's gate now; a check that cannot be made is an ERROR, never a success."""
    try:
        return recheck_open(number, deps)
    except ModelReviewError as exc:
        log.warning("#%s could not be checked for the merge group: %s", number, exc)
        return GateDecision(GateState.ERROR, f"could not be checked: {exc}"[:120])
