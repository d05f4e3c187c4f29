"""bot.plots.artifacts: pairing the runs' image artifacts and drawing them side by side."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from bot.domain import PlotImage
from bot.plots import artifacts as artifact_plots
from bot.plots.artifacts import artifact_pairs, side_by_side
from bot.plots.figures import ALONE_SIZE, PAIR_SIZE
from tests.plot_helpers import pixels, png_size, texts


def picture(width: int = 60, height: int = 40, fmt: str = "PNG", colour: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format=fmt)
    return buffer.getvalue()


def with_header_size(png: bytes, width: int, height: int) -> bytes:
    """A PNG whose IHDR claims another size (with a valid CRC)."""
    body = struct.pack(">II", width, height) + png[24:29]
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + body))
    return png[:16] + body + crc + png[33:]


# --- artifact pairs ----------------------------------------------------------------

PATTERNS = ["*.png", "*.jpg", "plots/*"]


def test_artifact_pairs_by_path_then_file_name() -> None:
    candidate = ["plots/roc.png", "Confusion.PNG", "model.pkl", "x/sub/pr.png", "new.jpg"]
    baseline = ["plots/roc.png", "eval/confusion.png", "y/pr.png", "old.png", "notes.txt"]

    assert artifact_pairs(candidate, baseline, PATTERNS) == [
        ("Confusion.PNG", "Confusion.PNG", "eval/confusion.png"),
        ("new.jpg", "new.jpg", None),
        ("old.png", None, "old.png"),
        ("plots/roc.png", "plots/roc.png", "plots/roc.png"),
        ("x/sub/pr.png", "x/sub/pr.png", "y/pr.png"),
    ]


def test_evaluate_s_plots_lead_and_the_training_set_s_come_last() -> None:
    files = [
        "calibration_curve_plot.png",
        "training_confusion_matrix.png",
        "lift_curve_plot.png",
        "confusion_matrix.png",
        "precision_recall_curve_plot.png",
        "roc_curve_plot.png",
    ]
    assert [p[0] for p in artifact_pairs(files, files, ["*.png"])] == [
        "roc_curve_plot.png",
        "precision_recall_curve_plot.png",
        "confusion_matrix.png",
        "calibration_curve_plot.png",
        "lift_curve_plot.png",
        "training_confusion_matrix.png",
    ]


def test_artifact_pairs_same_path_wins_over_same_name() -> None:
    pairs = artifact_pairs(["a/x.png", "b/x.png"], ["z/x.png", "b/x.png"], ["*.png"])

    assert pairs == [("a/x.png", "a/x.png", "z/x.png"), ("b/x.png", "b/x.png", "b/x.png")]


def test_artifact_patterns_match_path_or_file_name() -> None:
    files = ["plots/data.csv", "deep/plots/curve.svg", "curve.svg"]

    assert [p[0] for p in artifact_pairs(files, [], ["plots/*"])] == ["plots/data.csv"]
    assert [p[0] for p in artifact_pairs(files, [], ["CURVE.SVG"])] == [
        "curve.svg",
        "deep/plots/curve.svg",
    ]
    assert artifact_pairs(files, files, []) == []


# --- side by side ---------------------------------------------------------------------


def test_an_image_without_a_counterpart_is_drawn_alone() -> None:
    image = side_by_side("plots/roc.png", None, picture(), "production", "candidate")
    assert isinstance(image, PlotImage)

    assert image.group == "artifacts"
    assert image.primary is True
    assert image.name.startswith("artifact-plots_roc-") and image.name.endswith(".png")
    assert png_size(image.png) == pixels(ALONE_SIZE)
    assert "candidate only: production has no such image" in image.alt
    fig = artifact_plots._figure_alone("plots/roc.png", picture(), "candidate only")
    assert fig is not None
    (ax,) = fig.axes
    assert ax.get_title() == "candidate only"
    assert ax.images[0].get_array().shape[:2] == (40, 60)


def test_a_production_image_the_candidate_lacks_is_drawn_alone_too() -> None:
    image = side_by_side("cm.png", picture(), None, "production", "candidate")
    assert image is not None

    assert png_size(image.png) == pixels(ALONE_SIZE)
    assert "production only: candidate has no such image" in image.alt


def test_a_pair_is_drawn_side_by_side() -> None:
    image = side_by_side("roc.png", picture(colour="blue"), picture(), "production", "candidate")
    assert image is not None

    assert png_size(image.png) == pixels(PAIR_SIZE)
    assert "side by side" in image.alt


def test_a_pair_with_a_missing_side_says_not_logged() -> None:
    fig = artifact_plots._figure_for_pair(
        "plots/roc.png", None, picture(), "production", "candidate"
    )
    assert fig is not None
    left, right = fig.axes
    assert (left.get_title(), right.get_title()) == ("production", "candidate")
    assert texts(left) == [artifact_plots.NOT_LOGGED]
    assert len(left.images) == 0
    assert len(right.images) == 1
    assert right.images[0].get_array().shape[:2] == (40, 60)


def test_side_by_side_reads_jpeg_and_marks_unreadable_images() -> None:
    fig = artifact_plots._figure_for_pair("x", b"<svg></svg>", picture(fmt="JPEG"), "prod", "cand")
    assert fig is not None

    left, right = fig.axes
    assert texts(left) == ["cannot be shown\n(not a readable PNG or JPEG)"]
    assert len(right.images) == 1


def test_side_by_side_without_anything_to_draw_is_none() -> None:
    assert side_by_side("x.svg", b"<svg/>", None, "production", "candidate") is None
    assert side_by_side("x.png", None, None, "production", "candidate") is None


@pytest.mark.parametrize(
    ("width", "height", "message"),
    [(8_000, 6_000, "too large to show (8000x6000)"), (20_000, 10_000, "too large to show")],
)
def test_huge_images_are_neither_decoded_nor_drawn(width: int, height: int, message: str) -> None:
    huge = with_header_size(picture(), width, height)
    fig = artifact_plots._figure_for_pair("big", huge, picture(), "production", "candidate")
    assert fig is not None

    assert texts(fig.axes[0]) == [message]


def test_large_images_are_shrunk_before_drawing() -> None:
    fig = artifact_plots._figure_for_pair(
        "wide", picture(3000, 300), None, "production", "candidate"
    )
    assert fig is not None

    shape = fig.axes[0].images[0].get_array().shape
    assert shape[:2] == (120, artifact_plots.MAX_IMAGE_SIDE)


def test_side_by_side_is_deterministic_and_keeps_primary_flag() -> None:
    first = side_by_side("a.png", picture(colour="blue"), picture(), "p", "c", primary=False)
    again = side_by_side("a.png", picture(colour="blue"), picture(), "p", "c", primary=False)
    assert first is not None and again is not None

    assert first.png == again.png
    assert first.primary is False
