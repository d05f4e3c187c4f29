"""The MLflow adapter: the only package of the bot that imports mlflow.

`MlflowRuns` implements `bot.ports.RunsPort` with `mlflow.tracking.MlflowClient`
(mlflow-skinny is enough) plus the few REST calls the client has no method for. It is
composed by subject: `bot.tracking.session` (the one path to the server, its caches),
`runs`, `registry`, `artifacts` and `modelfiles`. MLflow objects are translated into
`bot.domain` dataclasses (bot.tracking.data) before they leave.
`fetch_runs` reads artifacts and logged models only of runs the allow-lists admit.
"""

from __future__ import annotations

from bot.tracking.runs import RunReads


class MlflowRuns(RunReads):
    """`RunsPort` for an MLflow tracking server (or any store MlflowClient accepts)."""
