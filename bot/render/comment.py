"""Rendering: a ReviewReport in, the PR comment (markdown) or a preview page out.

Pure: no I/O except reading the templates. The comment must fit GitHub's limit for
ANY report, so it is rendered with progressively smaller budgets
(bot.render.view.LADDER): full notes go first, then the all-parameters lists, then
parameter rows, metric rows (regressions are kept longest), unresolved references,
and finally whole candidates. Every cut says so in the comment. The marker and the
caller's state block are never dropped.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import jinja2

import bot
from bot.constants import COMMENT_BUDGET, MARKER
from bot.domain import Assignment, GateDecision, ReviewReport
from bot.render import intervals as iv
from bot.render import markdown as md
from bot.render import preview
from bot.render.view import LADDER, Budget, build_context, headline
from bot.review.permodel import ModelSlots

log = logging.getLogger(__name__)

TOO_LARGE = "This review is too large for a pull-request comment; open the runs in MLflow."


# --- the Jinja environment ------------------------------------------------------


def templates_dir() -> Path:
    """bot/templates in an installed wheel, else the checkout's top-level templates/."""
    here = Path(bot.__file__).parent
    installed = here / "templates"
    return installed if installed.is_dir() else here.parent / "templates"


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        cell=md.escape_cell,
        block=md.escape_block,
        code=md.code,
        message=md.escape_message,
        text=md.clean,
        num=md.fmt_num,
        delta=md.fmt_delta,
        pct=md.fmt_pct,
        icon=md.change_icon,
        label=md.change_label,
        arrow=md.arrow,
        check=md.check_icon,
        who=lambda login: md.escape_cell(f"@{login}"),
        alt=lambda text, n=200: md.neutralise_mentions(md.clean(text, n)),
        plain_block=md.clean_block,
        spread=iv.with_spread,
        interval=iv.interval,
        missed=iv.missed,
    )
    return env


# --- the comment ------------------------------------------------------------------


def render_comment(
    report: ReviewReport,
    *,
    gate: GateDecision | None = None,
    assignment: Assignment | None = None,
    models: Sequence[ModelSlots] = (),
    state_block: str = "",
    marker: str = MARKER,
    max_chars: int = COMMENT_BUDGET,
    title: str = "Model review",
    mention: Sequence[str] = (),
) -> str:
    """The sticky PR comment: marker first, `state_block` last, never over `max_chars`.
    `models`: with several models under review, each one's reviewers (instead of
    `assignment`). `mention`: teams ("org/team") the token could not request a review
    from, mentioned for real (every other `@` in the comment is inert)."""
    tail = f"\n{state_block}\n" if state_block else ""
    if len(marker) + len(tail) + 1 > max_chars:
        raise ValueError(f"max_chars={max_chars} cannot even hold the marker and the state block")
    template = environment().get_template("comment.md.j2")

    def body(budget: Budget) -> str:
        ctx = build_context(report, budget, gate, assignment, models)
        teams = [f"@{t}" for t in mention if md.is_team_name(t)]
        return template.render(ctx, marker=marker, title=title, mentions=teams).rstrip("\n") + "\n"

    fitting = _first_fitting(body, max_chars - len(tail))
    if fitting is None:
        log.warning("review too large for %d characters even when cut: posting a stub", max_chars)
        return _fallback(report, marker, title, tail, max_chars)
    return fitting + tail


def _first_fitting(body: Callable[[Budget], str], room: int) -> str | None:
    """The body for the most generous budget of LADDER that fits in `room` characters.

    The full budget first (most reviews fit), then bisection: budgets only get
    stricter along the ladder, so the bodies only get shorter."""
    text = body(LADDER[0])
    if len(text) <= room:
        return text
    log.info("review is %d characters, over %d: cutting it down", len(text), room)
    best, lo, hi = None, 1, len(LADDER) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        text = body(LADDER[mid])
        if len(text) <= room:
            best, hi = text, mid - 1
        else:
            lo = mid + 1
    return best


def _fallback(report: ReviewReport, marker: str, title: str, tail: str, max_chars: int) -> str:
    """The last resort: marker, title, verdict and a warning, cut to fit; state kept."""
    text = (
        f"### 🧪 {md.escape_cell(title)}\n\n**{md.escape_cell(headline(report), 300)}**\n\n"
        f"> [!WARNING]\n> {TOO_LARGE}\n"
    )
    room = max_chars - len(marker) - 1 - len(tail)
    return f"{marker}\n{text[:room]}{tail}"


# --- short notices (no review in them) ----------------------------------------------

NEEDS_RUN = "This pull request changes model code but links no MLflow run."
NEEDS_RUN_HINT = (
    "Link the run that trained the model in the PR description: an MLflow run link, "
    "`runs:/RUN_ID/model`, `models:/NAME/VERSION` or a line `mlflow-run: RUN_ID`. "
    "The review starts as soon as the description is saved."
)
NO_LONGER = "This pull request no longer links an MLflow run: there is no model to review."
CAPPED_HINT = (
    "The `model-review` status stays pending: name at most 50 MLflow references (links "
    "are read before bare run ids), then comment `/model-review refresh`."
)
NO_LONGER_HINT = "The `model-review` status is green. Link a run again to get a new review."
COULD_NOT_CHECK = "model-review could not check this pull request: {error}"
COULD_NOT_CHECK_HINT = (
    "The merge stays blocked (`model-review` status: error) until the problem is fixed; "
    "then comment `/model-review refresh` or push a commit."
)
MAX_FILES = 10


OUTCOME = "<!-- model-review:outcome -->"  # starts the final section of a closed PR's comment


def render_outcome(text: str, problems: Sequence[str] = ()) -> str:
    """The final section of a closed PR's comment (outcome.md.j2), starting with OUTCOME."""
    section = (
        environment()
        .get_template("outcome.md.j2")
        .render(anchor=OUTCOME, text=text, problems=list(problems))
    )
    return section.rstrip("\n")


def render_notice(
    message: str,
    *,
    hint: str = "",
    files: list[str] | None = None,
    warning: bool = False,
    state_block: str = "",
    marker: str = MARKER,
    title: str = "Model review",
) -> str:
    """A short sticky comment with a message and no review (no model, or an error)."""
    files = files or []
    text = (
        environment()
        .get_template("notice.md.j2")
        .render(
            marker=marker,
            title=title,
            message=message,
            hint=hint,
            warning=warning,
            files=files[:MAX_FILES],
            more_files=max(0, len(files) - MAX_FILES),
        )
    )
    tail = f"\n{state_block}\n" if state_block else ""
    return text.rstrip("\n") + "\n" + tail


def render_no_model(
    touched: list[str], problems: Sequence[str] = (), *, state_block: str = ""
) -> str:
    """The comment for a PR without runs: it needs one (touched paths), or it had a
    review and dropped its runs, or the caps left references out (`problems` say how
    many)."""
    if problems and not touched:
        return render_notice(
            "No MLflow run was found among the references read. "
            + " ".join(f"{p[:1].upper()}{p[1:]}." for p in problems),
            hint=CAPPED_HINT,
            warning=True,
            state_block=state_block,
        )
    if touched:
        return render_notice(
            NEEDS_RUN, hint=NEEDS_RUN_HINT, files=touched, warning=True, state_block=state_block
        )
    return render_notice(NO_LONGER, hint=NO_LONGER_HINT, state_block=state_block)


def render_error(error: str, *, state_block: str = "") -> str:
    """The comment when the bot could not check the PR (fail closed, say why)."""
    return render_notice(
        COULD_NOT_CHECK.format(error=error),
        hint=COULD_NOT_CHECK_HINT,
        warning=True,
        state_block=state_block,
    )


# --- the preview page ---------------------------------------------------------------


def render_html(
    report: ReviewReport,
    *,
    gate: GateDecision | None = None,
    assignment: Assignment | None = None,
    images_dir_relative: bool = True,
) -> str:
    """A standalone HTML page made from the comment's own markdown (bot.render.preview),
    so it shows exactly what the pull request shows.

    `images_dir_relative=True` keeps relative image URLs (files written next to the
    page, as `render --out DIR` does); False shows only absolute http(s) images and
    names the others."""
    markdown = render_comment(report, gate=gate, assignment=assignment)
    return preview.page(markdown, images_dir_relative=images_dir_relative)
