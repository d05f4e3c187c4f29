"""The App's job runner: one job is one delivery, handled as the Action would handle
it but acting as the App's installation on the repository.

`JobRunner` builds the handler's ports for the delivery's installation (GitHub App
auth, MLflow, the plots' host) and runs the shared handler. Inside a Redis job the
ports are fenced (bot.app.queue.fencing): every write first checks the PR's lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from bot.app import metrics
from bot.app.queue.jobs import Installations, Job, TransientFailure
from bot.handlers.following import REGISTRY_JOB
from bot.handlers.moved import trigger_of
from bot.handlers.router import Action, Event, decide

__all__ = ["Installations", "JobRunner"]

if TYPE_CHECKING:
    from bot.app.queue.jobs import JobQueue
    from bot.app.queue.reconcile import Inventory
    from bot.app.settings import Settings
    from bot.app.wiring import ImagesFor
    from bot.config.schema import Config
    from bot.handlers.context import Deps, Outcome
    from bot.ports import GitHubPort, RunsPort

log = logging.getLogger(__name__)

# GitHub -> where that review's plots go (bot.app.wiring.images_for by default)
ImagesFactory = Callable[["GitHubPort"], "ImagesFor"]


class JobRunner:
    """Runs a job: App auth for the delivery's installation, then the shared handler.
    `installations`, `runs` and `images` default to the real adapters."""

    def __init__(
        self,
        settings: Settings,
        installations: Installations | None = None,
        runs: Callable[[Config], RunsPort] | None = None,
        images: ImagesFactory | None = None,
    ) -> None:
        self._settings = settings
        self._installations = installations
        self._runs = runs
        self._images = images
        self._lock = threading.Lock()
        # where a registry event's re-reviews go (bot.app.queue.registry): the web process's
        # queue; a Redis worker builds its own from the settings
        self.queue: JobQueue | None = None
        self.inventory: Inventory | None = None  # the App's inventory (tests: a fake)

    @property
    def settings(self) -> Settings:
        return self._settings

    def installations(self) -> Installations:
        with self._lock:
            if self._installations is None:
                from bot.githost.installations import AppInstallations

                s = self._settings
                self._installations = AppInstallations(
                    s.app_id,
                    s.private_key,
                    base_url=s.api_url,
                    server_url=s.server_url,
                    throttle=s.github_throttle,
                    on_rate_limit=metrics.github_rate_limit,
                )
            return self._installations

    def __call__(self, job: Job) -> Outcome | None:
        from bot.handlers.dispatch import handle

        if job.event_name == REGISTRY_JOB:  # an MLflow registry event: find the PRs
            from bot.app.queue.registry import follow_event

            follow_event(self, job)
            return None
        event = job.event()
        decision = decide(event)  # a comment's text is read here, not in the web process
        if decision.action is Action.IGNORE:
            log.info("nothing to do: %s", decision.reason)
            return None
        if decision.action is Action.ACCESS:  # someone's access changed: find the PRs
            self._revisit(event)
            return None
        outcome = handle(event, decision, self.deps(event))
        if outcome.transient:
            raise TransientFailure(outcome.notice)
        state = outcome.gate.state.value if outcome.gate else "no gate"
        log.info("%s done (%s): %s", job.key, state, outcome.notice or "review published")
        return outcome

    def _revisit(self, event: Event) -> None:
        from bot.app.queue.access import revisit
        from bot.app.queue.registry import inventory_of, queue_of

        revisit(
            event,
            inventory_of(self),
            self.installations(),
            queue_of(self),
            max_requests=self._settings.reconcile_requests,
        )

    def deps(self, event: Event) -> Deps:
        """The handler's ports, as the Action builds them but acting as the App."""
        from bot.app.queue.fencing import current_fence, guard_github, guard_runs
        from bot.app.wiring import images_for, utc_now
        from bot.handlers.context import Deps

        apps = self.installations()
        installation = event.installation_id or apps.installation_id(event.repo)
        fence = current_fence()  # the Redis queue's PR lock: checked before each write
        counted = cast("GitHubPort", metrics.Counted(apps.repo(installation, event.repo), "github"))
        github = guard_github(counted, fence)
        images = (self._images or images_for)(github)
        runs = self._runs or self.tracking

        def fenced_runs(config: Config) -> RunsPort:
            return guard_runs(cast("RunsPort", metrics.Counted(runs(config), "mlflow")), fence)

        trigger = trigger_of(event.payload)
        return Deps(
            github=github,
            runs=fenced_runs,
            images=images,
            now=utc_now,
            trigger=trigger,
            checks=True,
        )

    def tracking(self, config: Config) -> RunsPort:
        """MLflow for a repository's config (the real adapter unless one was given)."""
        if self._runs is not None:
            return self._runs(config)
        from bot.app.wiring import make_runs

        return make_runs(self._settings.tracking_uri, config)
