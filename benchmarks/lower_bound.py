"""The fewest requests that could possibly produce the standard review, per endpoint,
with the reason for each; and the targets of issue #7 checked against the results.

The job is what the comment shows (runs, experiment names, registered versions,
production, metric curves, the runs' images) plus the gate's writes, with no
redundant write. Counts are derived from the shape of the review, not from what the
bot happened to do; only the number of pictures is read off the bot's comment
(it is part of what the comment shows).
"""

from __future__ import annotations

import math
from typing import Any

from benchmarks.scenario import Shape

Row = tuple[str, int, str]
# requests the bot makes that the lower bound does without, and why it makes them
EXTRA = {
    "GET registered-models/get": "aliases of the candidates' versions (the adapter "
    "returns them; the comment does not show them)",
    "GET commits/SHA/status": "the status is compared before it is written: that is "
    "what makes a re-run write nothing",
    "GET pulls/N/files": "changed files, only needed when no run is linked "
    "(`require_review_for`); read with the pull request",
}


def mlflow_rows(shape: Shape) -> list[Row]:
    runs = shape.candidates + 1
    return [
        ("POST experiments/search", 1,
         "experiment names (shown) and ids (a run search needs them)"),
        ("POST runs/search", 2,
         "candidates and production in one search by id: possible once the production "
         "version is known, so the registry goes first; and the runs in the candidate's "
         "experiment since production (one capped search)"),
        ("GET model-versions/search", 2,
         "which registered model the candidates are versions of; then every version of "
         "that model with its tags (production's history, earlier reviews)"),
        ("GET registered-models/alias", 1, "the production version and its run"),
        ("GET artifacts/list", runs,
         "the image files of each run: one listing per run (and one per subfolder, "
         "at most 20 a run; the scenario's images are at the root)"),
        ("GET metrics/get-history-bulk-interval", shape.curves,
         "one per curve: the endpoint takes one metric key, every run at once, and "
         "samples on the server"),
        ("GET mlflow-artifacts/artifacts/FILE", 2 * shape.images,
         "each image pair: production's file and the candidate's"),
    ]  # fmt: skip


def github_rows(shape: Shape, pictures: int, rerun: bool) -> list[Row]:
    comment_pages = math.ceil((shape.comments + (1 if rerun else 0)) / 100) or 1
    rows: list[Row] = [
        ("GET pulls/N", 1, "head, base, body, author, requested reviewers"),
        ("GET pulls/N/commits", 1, "the checklist checks each run's commit is in the PR"),
        ("GET issues/N/comments", comment_pages,
         "references in comments and the bot's own comment: 100 a page"),
        ("GET contents/PATH", 1, "the config, at the base commit"),
        ("GET pulls/N/reviews", 1, "the gate"),
    ]  # fmt: skip
    if rerun:
        return [
            *rows,
            ("GET commits/SHA/status", 1, "to know the status is already right"),
        ]
    return [
        *rows,
        ("POST issues/N/comments", 1, "the comment"),
        ("POST pulls/N/requested_reviewers", 1, "the reviewers"),
        ("POST statuses/SHA", 1,
         "the gate; on a first review it could be written without reading it first"),
        ("GET git/ref/heads/BRANCH", 1, "the assets branch's head, parent of the new commit"),
        ("POST git/blobs", pictures, "one per picture (the API takes binary only as blobs)"),
        ("POST git/trees", 1, "one tree holding every new picture"),
        ("POST git/commits", 1, "one commit"),
        ("POST git/refs", 1, "create the branch (PATCH to move it when it exists)"),
    ]  # fmt: skip


def _compare(rows: list[Row], actual: dict[str, int]) -> dict[str, Any]:
    minimum = sum(n for _, n, _ in rows)
    total = sum(actual.values())
    table = [
        {"endpoint": e, "lower_bound": n, "bot": actual.get(e, 0), "why": why} for e, n, why in rows
    ]
    known = {e for e, _, _ in rows}
    table += [
        {"endpoint": e, "lower_bound": 0, "bot": n, "why": EXTRA.get(e, "not needed")}
        for e, n in sorted(actual.items())
        if e not in known
    ]
    return {
        "lower_bound": minimum,
        "bot": total,
        "ratio": round(total / minimum, 3) if minimum else None,
        "endpoints": table,
    }


def lower_bound(shape: Shape, standard: dict[str, Any]) -> dict[str, Any]:
    bot, rerun = standard["bot"], standard["bot_rerun"]
    pictures = int(standard.get("pictures", 0))
    first = {
        "mlflow": _compare(mlflow_rows(shape), bot["mlflow"]),
        "github": _compare(github_rows(shape, pictures, rerun=False), bot["github"]),
    }
    again = {
        "mlflow": _compare(mlflow_rows(shape), rerun["mlflow"]),
        "github": _compare(github_rows(shape, pictures, rerun=True), rerun["github"]),
    }
    for case in (first, again):
        minimum = case["mlflow"]["lower_bound"] + case["github"]["lower_bound"]
        total = case["mlflow"]["bot"] + case["github"]["bot"]
        case["total"] = {"lower_bound": minimum, "bot": total, "ratio": round(total / minimum, 3)}
    return {"pictures": pictures, "first_review": first, "rerun": again}


# --- targets ------------------------------------------------------------------------------


def _target(name: str, value: str, met: bool) -> dict[str, Any]:
    return {"target": name, "value": value, "met": bool(met)}


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    bound = results.get("lower_bound")
    if bound:
        ratio = bound["first_review"]["total"]["ratio"]
        out.append(_target("requests within 1.25x of the lower bound (standard review)",
                           f"{ratio:.2f}x", ratio <= 1.25))  # fmt: skip
    std = results.get("standard")
    if std:
        saved = std["ratios"]["mlflow_requests_saved_factor"]
        speed = std["ratios"]["speedup"]
        out.append(_target(">= 3x fewer MLflow requests than the straightforward client",
                           f"{saved:.1f}x fewer", saved >= 3))  # fmt: skip
        out.append(_target(">= 2x less wall time than the straightforward client",
                           f"{speed:.1f}x faster", speed >= 2))  # fmt: skip
        writes = (std["bot_rerun"]["github_writes"], std["process_rerun"]["github_writes"])
        out.append(_target("re-running the same event when nothing changed: no write",
                           f"{max(writes)} writes", max(writes) == 0))  # fmt: skip
    history = (results.get("growth") or {}).get("history")
    if history:
        out += _flatness(history)
    start = results.get("startup")
    if start:
        out.append(_target("`model-review --help` under 150 ms", f"{start['help_ms']:.0f} ms",
                           start["help_ms"] < 150))  # fmt: skip
    return out


def _flatness(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Two readings of "flat in history length": the bot's own part (requests, and the
    time left once MLflow's sampling of the histories is taken out), and the wall time."""
    first, last = history[0], history[-1]
    span = f"{first['steps']:,} -> {last['steps']:,} steps"
    curves = 5  # one history request per curve in the standard review

    def own(row: dict[str, Any]) -> float:
        return float(row["bot"]["median_s"] - curves * row["history_request_ms"] / 1000)

    same = first["bot"]["mlflow_requests"] == last["bot"]["mlflow_requests"]
    own_growth = own(last) / own(first)
    wall = last["bot"]["median_s"] / first["bot"]["median_s"]
    sampling = last["history_request_ms"] / first["history_request_ms"]
    return [
        _target(
            f"flat requests and bot-side cost in history length ({span})",
            f"requests {first['bot']['mlflow_requests']} -> {last['bot']['mlflow_requests']}, "
            f"time outside MLflow's sampling x{own_growth:.2f}",
            same and own_growth <= 1.5,
        ),
        _target(
            f"flat wall time in history length ({span})",
            f"x{wall:.2f}; MLflow's server-side sampling of one history x{sampling:.1f}",
            wall <= 1.5,
        ),
    ]
