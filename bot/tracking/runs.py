"""Runs: lookups by id and by commit, related runs, run counts, metric histories and
the run's tags (bot.tracking.client composes this with the registry and artifacts).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.domain import (
    TAG_PARENT_RUN,
    ArtifactInfo,
    RunSnapshot,
)
from bot.ports import Admit, Point
from bot.tracking import data as td
from bot.tracking import errors as te
from bot.tracking.artifacts import ArtifactAccess
from bot.tracking.registry import RegistryAccess
from bot.tracking.session import (
    COMMIT_RUNS_LIMIT,
    EXPERIMENTS_PER_SEARCH,
    HISTORY_MAX_POINTS,
    HISTORY_RUNS_PER_CALL,
    IDS_PER_SEARCH,
)

if TYPE_CHECKING:
    from mlflow.entities import Run

log = logging.getLogger(__name__)


class RunReads(RegistryAccess, ArtifactAccess):
    """Reading runs, with their registered versions, logged models and artifacts."""

    def _experiment_names(self, refresh: bool = False) -> dict[str, str]:
        if self._experiments is None or refresh:
            found = self.pages(
                "listing experiments",
                self.client.search_experiments,
                max_results=1000,
                strict=True,
            )
            self._experiments = {e.experiment_id: e.name for e in found}
        return self._experiments

    def _search(self, experiment_ids: Sequence[str], where: str, limit: int) -> list[Run]:
        runs: list[Run] = []
        for exp_chunk in td.chunks(sorted(experiment_ids), EXPERIMENTS_PER_SEARCH):
            page = self.call(
                "searching runs",
                self.client.search_runs,
                exp_chunk,
                filter_string=where,
                max_results=limit,
                order_by=["attributes.start_time DESC"],
            )
            runs.extend(r for r in page if r.info.lifecycle_stage == "active")
        return runs

    def fetch_runs(
        self, run_ids: Sequence[str], admit: Admit | None = None
    ) -> dict[str, RunSnapshot]:
        ids = td.valid_ids(run_ids)
        if not ids:
            return {}
        cached = self._experiments is not None
        experiments = set(self._experiment_names())
        runs = self._runs_by_id(experiments, ids)
        missing = [i for i in ids if i not in {r.info.run_id for r in runs}]
        if missing and cached:  # a run may sit in an experiment created since we listed
            runs += self._runs_by_id(set(self._experiment_names(True)) - experiments, missing)
        found = {s.run_id: s for s in self._snapshots(runs, admit)}
        return {i: found[i] for i in ids if i in found}

    def _runs_by_id(self, experiment_ids: set[str], ids: list[str]) -> list[Run]:
        runs: list[Run] = []
        for chunk in td.chunks(ids, IDS_PER_SEARCH) if experiment_ids else ():
            where = f"attributes.run_id IN {td.in_list(chunk)}"
            runs += self._search(list(experiment_ids), where, len(chunk))
        return runs

    def runs_for_commits(
        self, shas: Sequence[str], admit: Admit | None = None
    ) -> list[RunSnapshot]:
        """Newest first, at most COMMIT_RUNS_LIMIT; costs one search per SHA. A SHA
        shorter than 40 hex digits (at least 7) matches the commits it starts."""
        wanted = [s.lower() for s in td.valid_ids(shas, td.SHA)]
        experiments = list(self._experiment_names()) if wanted else []
        runs: list[Run] = []
        for sha in wanted:  # tag filters have no IN: one search per commit
            runs += self._search(experiments, td.commit_filter(sha), COMMIT_RUNS_LIMIT)
        runs.sort(key=lambda r: r.info.start_time or 0, reverse=True)
        return self._snapshots(runs[:COMMIT_RUNS_LIMIT], admit)

    def related_runs(
        self, experiment_id: str, tag: str, value: str, limit: int
    ) -> list[RunSnapshot]:
        """One search; only the tags and values the repeats need are ever sent."""
        pattern = td.RELATED_TAGS.get(tag)
        if pattern is None or not pattern.fullmatch(value):
            return []
        if not td.RUN_ID.fullmatch(experiment_id):
            return []
        where = f"tags.{tag} = '{value}'"
        names = self._experiments or {}
        found = self._search([experiment_id], where, max(1, min(limit, 1000)))
        return [td.snapshot(r, names.get(experiment_id), (), (), ()) for r in found]

    def _snapshots(self, runs: list[Run], admit: Admit | None) -> list[RunSnapshot]:
        """Runs as looked up, with their registered versions (the allow-lists need
        them); then, for the runs `admit` lets through, logged models and artifacts."""
        versions = self._versions_of([r.info.run_id for r in runs]) if runs else []
        names = self._experiments or {}
        looked_up = [
            td.snapshot(
                run,
                names.get(run.info.experiment_id),
                (),
                (),
                tuple(v for v in versions if v.run_id == run.info.run_id),
            )
            for run in runs
        ]
        admitted = [r for r, s in zip(runs, looked_up, strict=True) if not admit or admit(s)]
        models = self._logged_models(admitted) if admitted else {}
        details = {r.info.run_id: self._artifacts_of(r) for r in admitted}
        return [
            replace(
                snap,
                artifacts=details[snap.run_id][0],
                artifacts_elsewhere=details[snap.run_id][1],
                logged_models=tuple(models.get(snap.run_id, ())),
            )
            if snap.run_id in details
            else snap
            for snap in looked_up
        ]

    def _artifacts_of(self, run: Run) -> tuple[tuple[ArtifactInfo, ...], bool]:
        """A run's artifact tree, and whether its artifacts live elsewhere (not read)."""
        self._artifact_uris[run.info.run_id] = run.info.artifact_uri
        if not self.served(run.info.artifact_uri):
            return (), True
        skip = td.skipped_folders(run.data.tags)
        return tuple(self.artifact_tree(run.info.run_id, skip)), False

    def count_runs(self, experiment_id: str, since: int | None, cap: int) -> tuple[int, bool]:
        if not td.RUN_ID.fullmatch(experiment_id):
            return 0, False
        where = f"attributes.start_time > {int(since)}" if since is not None else ""
        page = self.call(
            f"counting the runs of experiment {experiment_id}",
            self.client.search_runs,
            [experiment_id],
            filter_string=where,
            max_results=cap,
        )
        top = [r for r in page if TAG_PARENT_RUN not in (r.data.tags or {})]  # trials are not tries
        return len(top), bool(page.token)

    # --- histories --------------------------------------------------------------
    def metric_histories(
        self, run_ids: Sequence[str], key: str, max_points: int
    ) -> dict[str, list[Point]]:
        ids = td.valid_ids(run_ids)
        limit = max(1, min(max_points, HISTORY_MAX_POINTS))
        out: dict[str, list[Point]] = {}
        for chunk in td.chunks(ids, HISTORY_RUNS_PER_CALL):
            try:
                out.update(self._bulk_history(chunk, key, limit))
            except te.Missing:  # a server without the bulk endpoint
                out.update(self._histories_one_by_one(chunk, key, limit))
        return {rid: out[rid] for rid in ids if out.get(rid)}

    def _bulk_history(self, run_ids: list[str], key: str, limit: int) -> dict[str, list[Point]]:
        params = {"run_ids": run_ids, "metric_key": key, "max_results": limit}
        endpoint = "/api/2.0/mlflow/metrics/get-history-bulk-interval"
        body = self.get(endpoint, params, f"reading the history of metric {key}").json()
        return td.bulk_history(body, limit)

    def _histories_one_by_one(
        self, run_ids: list[str], key: str, limit: int
    ) -> dict[str, list[Point]]:
        doing = f"reading the history of metric {key}"
        out: dict[str, list[Point]] = {}
        for rid in run_ids:
            metrics = self.lookup(doing, self.client.get_metric_history, rid, key) or []
            out[rid] = td.even_sample([(m.step, m.value) for m in metrics], limit)
        return out

    # --- writes -----------------------------------------------------------------
    def set_run_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        from mlflow.entities import RunTag  # lazy

        batch = [RunTag(k, v) for k, v in tags.items()]
        self.call(f"tagging run {run_id}", self.client.log_batch, run_id, tags=batch)
