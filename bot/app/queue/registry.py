"""An MLflow registry event's job: queue a review of the open pull requests it
concerns (bot.handlers.following says which).

The job walks the App's installations and their open PRs (bot.githost.inventory) and
queues a review job for each PR that follows, like reconcile's (a `synchronize`
delivery) with the event's `Trigger` when the production alias moved, so the comment
says why the approvals went stale. Bounded: at most `max_prs` reviews per event
(MODEL_REVIEW_MLFLOW_MAX_PRS) and `max_requests` GitHub requests
(MODEL_REVIEW_RECONCILE_REQUESTS); the PRs past a bound are left to reconcile, and a
log line says how many. MLflow: one request per alias a PR links (version and tag
events only), once per event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from bot.app.queue.jobs import Installations, Job, JobQueue
from bot.app.queue.reconcile import Inventory, pages
from bot.app.queue.walk import Check, Pick, Walk, Walked
from bot.config.schema import Config
from bot.handlers.following import AliasLookup, RegistryEvent, follows, registry_event
from bot.handlers.moved import REGISTRY, Trigger

if TYPE_CHECKING:
    from bot.app.settings import Settings
    from bot.domain import PullRequest
    from bot.ports import GitHubPort, RunsPort


class Runner(Protocol):
    """What the job needs of bot.app.queue.runner.JobRunner."""

    queue: JobQueue | None
    inventory: Inventory | None

    @property
    def settings(self) -> Settings: ...

    def installations(self) -> Installations: ...

    def tracking(self, config: Config) -> RunsPort: ...


def followers_of(event: RegistryEvent, lookup: AliasLookup) -> Check:
    """Picks a PR that follows `event` (one repository's: its configs are cached)."""
    configs: dict[str, Config] = {}

    def check(github: GitHubPort, pull: PullRequest) -> Pick | None:
        why = follows(github, pull, event, configs, lookup)
        if not why:
            return None
        return Pick(why.reason, Trigger(REGISTRY, event.at) if why.production else None)

    return check


def follow(
    event: RegistryEvent,
    inventory: Inventory,
    installations: Installations,
    queue: JobQueue,
    lookup: AliasLookup,
    *,
    max_prs: int,
    max_requests: int,
    parent: str = "mlflow",
) -> Walked:
    """Queue the reviews `event` calls for, over every installation's open PRs."""
    too_many = f"at most {max_prs} re-reviews per event (MODEL_REVIEW_MLFLOW_MAX_PRS)"
    walk = Walk(
        inventory,
        installations,
        queue,
        parent,
        noun="review",
        max_prs=max_prs,
        too_many=too_many,
        max_requests=max_requests,
        per_pr=2,  # a PR's comments and config
    )
    done = Walked()
    listed = inventory.installations()
    done.requests += pages(len(listed))
    for item in listed:
        names = inventory.repositories(item.installation_id)
        done.requests += 1 + pages(len(names))  # the installation's token, the list
        for name in names:
            walk.repository(item.installation_id, name, followers_of(event, lookup), done)
    done.log(f"mlflow {event.describe()}", "re-reviews")
    return done


def alias_lookup(runs: Callable[[], RunsPort]) -> AliasLookup:
    """The version an alias names now, asked of MLflow once per (model, alias)."""
    found: dict[tuple[str, str], str | None] = {}

    def lookup(name: str, alias: str) -> str | None:
        if (name, alias) not in found:
            info = runs().model_version_by_alias(name, alias)
            found[name, alias] = info.version if info is not None else None
        return found[name, alias]

    return lookup


def follow_event(runner: Runner, job: Job) -> Walked | None:
    """The `mlflow_registry` job (bot.app.queue.runner runs it)."""
    event = registry_event(job.payload)
    if event is None:
        return None
    settings = runner.settings
    apps = runner.installations()
    inventory = inventory_of(runner)
    return follow(
        event,
        inventory,
        apps,
        queue_of(runner),
        alias_lookup(lambda: runner.tracking(Config())),
        max_prs=settings.mlflow_max_prs,
        max_requests=settings.reconcile_requests,
        parent=job.delivery_id,
    )


def inventory_of(runner: Runner) -> Inventory:
    """The App's inventory (tests give a fake)."""
    if runner.inventory is None:
        from bot.githost.inventory import AppInventory

        runner.inventory = AppInventory(runner.installations())  # type: ignore[arg-type]
    return runner.inventory


def queue_of(runner: Runner) -> JobQueue:
    if runner.queue is None:  # a Redis worker: the queue the web process uses
        from bot.app.queue.redisqueue import redis_deps

        runner.queue = redis_deps(runner.settings)[0]
    return runner.queue
