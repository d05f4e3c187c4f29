"""bot.plots.figures: the size, palette, PNG encoding and text helpers every figure shares."""

from __future__ import annotations

from bot.plots import figures
from tests.plot_helpers import pixels, png_size


def test_a_blank_figure_is_encoded_at_its_fixed_size_without_a_version() -> None:
    png = figures.to_png(figures.new_figure(figures.PAIR_SIZE))

    assert png_size(png) == pixels(figures.PAIR_SIZE)
    assert b"Software" not in png
    assert png == figures.to_png(figures.new_figure(figures.PAIR_SIZE))


def test_candidate_colours_repeat_after_the_palette() -> None:
    assert [figures.candidate_colour(i) for i in range(2)] == list(figures.CANDIDATE_COLOURS[:2])
    assert (
        figures.candidate_colour(len(figures.CANDIDATE_COLOURS) + 1) == figures.CANDIDATE_COLOURS[1]
    )


def test_user_text_is_drawn_literally_and_shortened() -> None:
    assert figures.plain("cost $a$") == r"cost \$a\$"
    assert figures.shorten("x" * figures.MAX_LABEL) == "x" * figures.MAX_LABEL
    assert figures.shorten("x" * (figures.MAX_LABEL + 1)) == "x" * (figures.MAX_LABEL - 1) + "…"
    assert figures.shorten("$" * 10, 4) == r"\$\$\$…"


def test_file_names_are_safe_and_unique_ignoring_case() -> None:
    used: set[str] = set()

    assert figures.safe_stem("val/loss @ 1") == "val_loss_1"
    assert figures.safe_stem("../..") == "plot"
    assert len(figures.safe_stem("a" * 100)) == 60
    assert [figures.unique_png_name(s, used) for s in ("Loss", "loss", "LOSS")] == [
        "Loss.png",
        "loss-2.png",
        "LOSS-3.png",
    ]
