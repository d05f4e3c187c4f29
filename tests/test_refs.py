from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import RefKind, RunRef
from bot.review.refs import MAX_REFS, MAX_TEXT_CHARS, find_refs, scan_refs

RUN = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"
MODEL = "m-" + "ab" * 16


def only(text: str) -> RunRef:
    refs = find_refs([text])
    assert len(refs) == 1, refs
    return refs[0]


@pytest.mark.parametrize(
    ("text", "experiment"),
    [
        (f"https://mlflow.acme.io/#/experiments/12/runs/{RUN}", "12"),
        (f"https://mlflow.acme.io/mlflow/#/experiments/12/runs/{RUN}", "12"),
        (f"https://mlflow.acme.io/#/experiments/12/runs/{RUN}/artifacts/model", "12"),
        (f"https://mlflow.acme.io/#/experiments/12/runs/{RUN}/model-metrics", "12"),
        (f"https://mlflow.acme.io/#/experiments/12/runs/{RUN}/artifactPath/model/MLmodel", "12"),
        (f"http://localhost:5000/#/runs/{RUN}", None),
        (f"https://mlflow.acme.io/?workspace=team-a#/experiments/3/runs/{RUN}", "3"),
        (f"https://mlflow.acme.io/#/experiments/3/runs/{RUN}?workspace=team-a", "3"),
        (f"https://acme.cloud.databricks.com/ml/experiments/77/runs/{RUN}", "77"),
        (f"https://acme.cloud.databricks.com/ml/experiments/77/runs/{RUN}/artifacts?o=1", "77"),
        (f"https://acme.cloud.databricks.com/?o=123#mlflow/experiments/77/runs/{RUN}", "77"),
        (f"www.mlflow.acme.io/#/experiments/5/runs/{RUN}", "5"),
        (f"see [the run](https://mlflow.acme.io/#/experiments/12/runs/{RUN}).", "12"),
        (f"<https://mlflow.acme.io/#/experiments/12/runs/{RUN}>", "12"),
        (f'<a href="https://mlflow.acme.io/#/experiments/12/runs/{RUN}">run</a>', "12"),
        (f"runs:/{RUN}/model", None),
        (f"load `runs:/{RUN}` please", None),
        (f"mlflow-run: {RUN}", None),
        (f"  MLflow-Run :   {RUN}  ", None),
        (f"- mlflow-run: {RUN}", None),
        (f"1. mlflow-run:{RUN}\r\n", None),
    ],
)
def test_run_forms(text: str, experiment: str | None) -> None:
    ref = only(text)
    assert ref.kind is RefKind.RUN
    assert ref.run_id == RUN
    assert ref.experiment_id == experiment
    assert ref.raw in text


def test_link_raw_drops_sentence_punctuation() -> None:
    link = f"https://mlflow.acme.io/#/experiments/12/runs/{RUN}/artifacts/model"
    assert only(f"Trained here: {link}.").raw == link
    assert only(f"({link}), ok").raw == link
    assert only(f"[{link}]").raw == link


def test_mlflow_run_line_raw_is_the_entry() -> None:
    assert only(f"- mlflow-run: {RUN}").raw == f"mlflow-run: {RUN}"


@pytest.mark.parametrize(
    "text",
    [
        f'https://mlflow.acme.io/#/compare-runs?runs=["{RUN}","{OTHER}"]&experiments=["4"]',
        "https://mlflow.acme.io/#/compare-runs?runs=%5B%22"
        + RUN
        + "%22,%22"
        + OTHER
        + "%22%5D&experiments=%5B%224%22%5D",
        f"https://mlflow.acme.io/#/compare-runs?runs=%5B%22{RUN}%22%2C%22{OTHER}%22%5D"
        "&experiments=%5B%224%22%5D",
    ],
)
def test_compare_view_gives_one_run_per_id(text: str) -> None:
    refs = find_refs([text])
    assert [(r.kind, r.run_id, r.experiment_id) for r in refs] == [
        (RefKind.RUN, RUN, "4"),
        (RefKind.RUN, OTHER, "4"),
    ]


def test_compare_view_with_several_experiments_leaves_experiment_unknown() -> None:
    text = f'https://h/#/compare-runs?runs=["{RUN}"]&experiments=["1","2"]'
    ref = only(text)
    assert (ref.run_id, ref.experiment_id) == (RUN, None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"models:/{MODEL}", RunRef(RefKind.LOGGED_MODEL, "", model_id=MODEL)),
        (
            f"https://mlflow.acme.io/#/experiments/9/models/{MODEL}",
            RunRef(RefKind.LOGGED_MODEL, "", model_id=MODEL, experiment_id="9"),
        ),
        (
            "https://mlflow.acme.io/#/models/fraud%20model/versions/7",
            RunRef(RefKind.MODEL_VERSION, "", model_name="fraud model", version="7"),
        ),
        (
            "models:/fraud-model/3",
            RunRef(RefKind.MODEL_VERSION, "", model_name="fraud-model", version="3"),
        ),
        (
            "models:/fraud.model_v2@champion",
            RunRef(RefKind.MODEL_ALIAS, "", model_name="fraud.model_v2", alias="champion"),
        ),
        (
            "models:/fraud%20model/2",
            RunRef(RefKind.MODEL_VERSION, "", model_name="fraud model", version="2"),
        ),
        (
            "models:/fraud-model/Production",
            RunRef(RefKind.MODEL_STAGE, "", model_name="fraud-model", version="Production"),
        ),
        (
            "models:/fraud-model/staging",
            RunRef(RefKind.MODEL_STAGE, "", model_name="fraud-model", version="staging"),
        ),
        (
            "models:/fraud-model/ARCHIVED",
            RunRef(RefKind.MODEL_STAGE, "", model_name="fraud-model", version="ARCHIVED"),
        ),
        (
            "models:/fraud-model/None",
            RunRef(RefKind.MODEL_STAGE, "", model_name="fraud-model", version="None"),
        ),
        (
            "models:/fraud-model/Latest",
            RunRef(RefKind.MODEL_STAGE, "", model_name="fraud-model", version="latest"),
        ),
    ],
)
def test_model_forms(text: str, expected: RunRef) -> None:
    ref = only(f"deploy {text}, thanks")
    assert ref.key == expected.key
    assert ref.kind is expected.kind
    assert ref.experiment_id == expected.experiment_id
    assert ref.raw == text


def test_bare_run_id() -> None:
    for text in (RUN, f"run {RUN}.", f"`{RUN}`", f"**{RUN}**", f"(id={RUN})", f"id: {RUN}"):
        ref = only(text)
        assert (ref.kind, ref.run_id, ref.raw) == (RefKind.BARE_RUN_ID, RUN, RUN)


@pytest.mark.parametrize(
    "text",
    [
        "no references here",
        f"commit {RUN}01234567 fixes it",  # a 40-hex git SHA
        f"{RUN}0",  # 33 hex
        f"0{RUN}",
        f"x{RUN}",
        f"{RUN}x",
        f"_{RUN}_",
        RUN.upper(),
        f"{RUN[:-1]}A",
        f"https://example.com/blob/{RUN}",
        f"https://github.com/acme/repo/commit/{RUN}",
        f"s3://bucket/mlruns/1/{RUN}/artifacts",
        f"dbfs:/databricks/mlflow-tracking/1/{RUN}",
        f"mlruns/0/{RUN}/artifacts",
        f"{RUN}.json",
        f"{RUN}-{RUN}",
        f"user@{RUN}",
        "https://mlflow.acme.io/#/experiments/12",
        "https://mlflow.acme.io/#/experiments/12/runs/",
        f"https://mlflow.acme.io/experiments/12/runs/{RUN}",  # no `#/`: not a UI route
        "https://mlflow.acme.io/#/models/fraud-model",
        "models:/fraud-model",
        "models:/fraud-model/champion",
        "models:/fraud model/3",
        "models:/fraud-model/3x",
        "runs:/",
        "mlflow-run:",
        f"<!-- model-review: {RUN} -->",
        f"<!-- mlflow-run: {RUN} -->",
        f"text <!-- unclosed https://h/#/runs/{RUN}",
    ],
)
def test_text_that_must_not_match(text: str) -> None:
    assert find_refs([text]) == []


def test_mlflow_run_key_inside_a_sentence_is_only_a_bare_id() -> None:
    ref = only(f"the mlflow-run: {RUN} is the one")
    assert ref.kind is RefKind.BARE_RUN_ID


def test_model_name_is_not_confused_with_a_longer_word() -> None:
    refs = find_refs(["mymodels:/fraud-model/3"])
    assert refs == []


def test_html_comments_are_skipped_but_text_around_them_counts() -> None:
    text = f"{RUN} <!-- hidden {OTHER} --> models:/a/1 <!-- x -->"
    assert [r.key for r in find_refs([text])] == [
        ("run", RUN, "", "", ""),
        ("model_version", "", "a", "1", ""),
    ]


def test_order_of_first_mention_across_texts() -> None:
    title = f"Retrain: models:/fraud/2 and {OTHER}"
    body = f"runs:/{RUN}/model\nhttps://h/#/experiments/1/runs/{OTHER}"
    comment = f"also {RUN} and models:/fraud/2"
    refs = find_refs([title, body, comment])
    assert [(r.kind, r.run_id or r.model_name) for r in refs] == [
        (RefKind.MODEL_VERSION, "fraud"),
        (RefKind.RUN, OTHER),
        (RefKind.RUN, RUN),
    ]


def test_bare_then_link_keeps_position_and_upgrades_to_run() -> None:
    link = f"https://mlflow.acme.io/#/experiments/8/runs/{RUN}"
    refs = find_refs([f"first {RUN} then models:/m/1", f"details: {link}"])
    assert refs[0] == RunRef(RefKind.RUN, link, run_id=RUN, experiment_id="8")
    assert refs[1].kind is RefKind.MODEL_VERSION
    assert len(refs) == 2


def test_link_then_bare_stays_a_run_with_its_experiment() -> None:
    link = f"https://mlflow.acme.io/#/experiments/8/runs/{RUN}"
    refs = find_refs([link, RUN, f"runs:/{RUN}/model"])
    assert refs == [RunRef(RefKind.RUN, link, run_id=RUN, experiment_id="8")]


def test_run_uri_then_link_gains_the_experiment() -> None:
    refs = find_refs([f"runs:/{RUN}/model https://h/#/experiments/3/runs/{RUN}"])
    assert refs == [RunRef(RefKind.RUN, f"runs:/{RUN}/model", run_id=RUN, experiment_id="3")]


def test_reference_count_is_capped() -> None:
    ids = [f"{n:032x}" for n in range(MAX_REFS + 20)]
    scan = scan_refs([" ".join(ids)])
    assert [r.run_id for r in scan.refs] == ids[:MAX_REFS]
    assert scan.dropped == 20


def test_cap_still_upgrades_references_already_found() -> None:
    ids = [f"{n:032x}" for n in range(MAX_REFS + 5)]
    refs = find_refs([" ".join(ids), f"https://h/#/experiments/2/runs/{ids[0]}"])
    assert len(refs) == MAX_REFS
    assert (refs[0].kind, refs[0].experiment_id) == (RefKind.RUN, "2")


def test_a_text_up_to_the_cap_is_scanned_whole() -> None:
    tail = f"\nmlflow-run: {RUN}\n"
    body = ("lorem ipsum " * (MAX_TEXT_CHARS // 12))[: MAX_TEXT_CHARS - len(tail)] + tail
    scan = scan_refs([body])
    assert [r.run_id for r in scan.refs] == [RUN] and not scan.capped


def test_a_text_past_the_cap_is_cut_and_says_so() -> None:
    body = "x" * MAX_TEXT_CHARS + f" {RUN}"
    scan = scan_refs(["title", body])
    assert scan.refs == () and scan.truncated == 1 and scan.capped


def test_texts_past_the_budget_are_not_read_and_are_counted() -> None:
    scan = scan_refs(["a" * 100, f"mlflow-run: {RUN}", "", f"mlflow-run: {OTHER}"], budget=100)
    assert scan.refs == () and scan.truncated == 2
    assert scan.work == 100


# The compare-bomb of issue #22: `&runs=[` repeated, no list ever closed, 64 KB.
BOMB = "https://m/#/compare-runs?" + "&runs=[" * 9358


def test_the_compare_bomb_costs_linear_work() -> None:
    plain = "lorem ipsum https://m/#/compare-runs?runs=[] " * (len(BOMB) // 45)
    bomb, calm = scan_refs([BOMB]), scan_refs([plain[: len(BOMB)]])
    assert bomb.refs == () and len(BOMB) >= 64_000
    assert bomb.work <= 3 * len(BOMB)
    assert bomb.work <= 3 * calm.work


def test_decoy_ids_do_not_push_a_link_out() -> None:
    decoys = [f"{n:032x}" for n in range(MAX_REFS)]
    link = f"https://mlflow.acme.io/#/experiments/3/runs/{RUN}"
    scan = scan_refs([" ".join(decoys) + "\n" + link])
    assert len(scan.refs) == MAX_REFS and scan.dropped == 1
    assert scan.refs[-1].raw == link and scan.refs[-1].kind is RefKind.RUN
    assert [r.run_id for r in scan.refs[:-1]] == decoys[:-1]


_PIECES = st.sampled_from(
    [
        RUN,
        OTHER,
        MODEL,
        "https://mlflow.acme.io/",
        "#/",
        "#mlflow/",
        "/ml/",
        "experiments/",
        "runs/",
        "models/",
        "/versions/",
        "compare-runs?runs=",
        '["',
        '","',
        '"]',
        "%5B%22",
        "&experiments=",
        "runs:/",
        "models:/",
        "@",
        "/",
        "mlflow-run:",
        "\n- ",
        "<!--",
        "-->",
        "www.",
        "Production",
        "latest",
        "%20",
        " ",
        ".",
        ")",
        "]",
    ]
)
_TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=8)), max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TEXT, max_size=3))
def test_any_text_gives_sound_refs(texts: list[str]) -> None:
    refs = find_refs(texts)
    assert len(refs) <= MAX_REFS
    assert all(any(ref.raw in text for text in texts) for ref in refs)
    keys = [ref.key for ref in refs]
    assert len(keys) == len(set(keys))
    for ref in refs:
        if ref.kind in (RefKind.RUN, RefKind.BARE_RUN_ID):
            assert ref.run_id
        if ref.kind is RefKind.BARE_RUN_ID:
            assert ref.run_id == ref.raw
