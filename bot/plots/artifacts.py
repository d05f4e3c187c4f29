"""The runs' own image artifacts: paired with production's and drawn side by side
(an image with no counterpart is drawn alone).

Pure functions, no I/O: the bytes come in, a PlotImage goes out. matplotlib, numpy and
PIL are imported inside the functions, so importing this module stays cheap. An image
is decoded only if it is a bitmap of a known format and of a sane size.
"""

from __future__ import annotations

import hashlib
import io
import logging
import posixpath
from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from bot.domain import PlotImage
from bot.plots.figures import (
    ALONE_SIZE,
    PAIR_SIZE,
    new_figure,
    plain,
    safe_stem,
    shorten,
    to_png,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from numpy import uint8
    from numpy.typing import NDArray

log = logging.getLogger(__name__)

NOT_LOGGED = "not logged"
ONLY_IN = "{label} only: {other} has no such image"
MAX_IMAGE_SIDE = 1200  # artifacts are shrunk to this before drawing
MAX_IMAGE_PIXELS = 40_000_000  # bigger artifacts are not decoded at all
IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP")


# MLflow evaluate()'s plots a reviewer reads first, in this order (file stems); the
# training set's own images (autolog's `training_confusion_matrix.png`) come last.
LEADING = ("roc_curve_plot", "precision_recall_curve_plot", "confusion_matrix")
TRAINING_PREFIXES = ("training_", "train_")


def image_rank(path: str) -> int:
    """Where an image goes among the runs' images: evaluate()'s ROC, precision-recall
    and confusion matrix first, the training set's images last, the rest between."""
    stem = posixpath.splitext(posixpath.basename(path).lower())[0]
    if stem in LEADING:
        return LEADING.index(stem)
    return len(LEADING) + (1 if stem.startswith(TRAINING_PREFIXES) else 0)


def artifact_pairs(
    candidate_files: Sequence[str], baseline_files: Sequence[str], patterns: Sequence[str]
) -> list[tuple[str, str | None, str | None]]:
    """Pair image artifacts of a candidate and production: (display name, candidate
    path, production path). Same relative path first, then same file name (both
    case-insensitive). Only files matching a glob (on the path or the file name) count;
    no patterns means no images. evaluate()'s plots first (image_rank), then by name."""
    cands = sorted({p for p in candidate_files if _wanted(p, patterns)}, key=str.lower)
    bases = sorted({p for p in baseline_files if _wanted(p, patterns)}, key=str.lower)
    matched: dict[str, str] = {}
    for same in (str.lower, lambda p: posixpath.basename(p).lower()):
        for cand in cands:
            if cand in matched:
                continue
            free = (b for b in bases if b not in matched.values() and same(b) == same(cand))
            found = next(free, None)
            if found is not None:
                matched[cand] = found
    pairs: list[tuple[str, str | None, str | None]] = [(c, c, matched.get(c)) for c in cands]
    pairs += [(b, None, b) for b in bases if b not in matched.values()]
    return sorted(pairs, key=lambda pair: (image_rank(pair[0]), pair[0].lower()))


def _wanted(path: str, patterns: Sequence[str]) -> bool:
    lowered = path.lower()
    names = (lowered, posixpath.basename(lowered))
    return any(fnmatchcase(name, p.lower()) for p in patterns for name in names)


def side_by_side(
    title: str,
    left: bytes | None,
    right: bytes | None,
    left_label: str,
    right_label: str,
    *,
    primary: bool = True,
) -> PlotImage | None:
    """Two images in one figure (production on the left by convention); an image whose
    counterpart was not logged is drawn alone, saying so. An unreadable side (SVG,
    damaged, huge) says why. None when nothing can be drawn."""
    if (left is None) != (right is None):
        label, other = (left_label, right_label) if right is None else (right_label, left_label)
        caption = ONLY_IN.format(label=label, other=other)
        fig = _figure_alone(title, left if right is None else right, caption)
        alt = f"{title}: {caption}."
    else:
        fig = _figure_for_pair(title, left, right, left_label, right_label)
        alt = f"{title}: {left_label} (left) and {right_label} (right) side by side."
    if fig is None:
        return None
    digest = hashlib.sha1(title.encode(), usedforsecurity=False).hexdigest()[:8]
    return PlotImage(
        f"artifact-{safe_stem(posixpath.splitext(title)[0])}-{digest}.png",
        title,
        alt,
        to_png(fig),
        primary,
        "artifacts",
    )


def _figure_alone(title: str, data: bytes | None, caption: str) -> Figure | None:
    pixels, _ = _decode(data)
    if pixels is None:
        return None
    fig = new_figure(ALONE_SIZE)
    ax = fig.subplots()
    ax.set_axis_off()
    ax.set_title(plain(caption), fontsize=10)
    ax.imshow(pixels, interpolation="antialiased")
    fig.suptitle(shorten(title, 60), fontsize=11)
    return fig


def _figure_for_pair(
    title: str, left: bytes | None, right: bytes | None, left_label: str, right_label: str
) -> Figure | None:
    decoded = [_decode(left), _decode(right)]
    if all(pixels is None for pixels, _ in decoded):
        return None
    fig = new_figure(PAIR_SIZE)
    axes = fig.subplots(1, 2)
    for ax, (pixels, why), label in zip(axes, decoded, (left_label, right_label), strict=True):
        ax.set_axis_off()
        ax.set_title(plain(label), fontsize=10)
        if pixels is None:
            ax.text(0.5, 0.5, why, ha="center", va="center", fontsize=10, color="#404040")
        else:
            ax.imshow(pixels, interpolation="antialiased")
    fig.suptitle(shorten(title, 80), fontsize=11)
    return fig


def _decode(data: bytes | None) -> tuple[NDArray[uint8] | None, str]:
    """Pixels (an RGBA array, at most MAX_IMAGE_SIDE wide and high) or why there are none."""
    if data is None:
        return None, NOT_LOGGED
    import numpy as np
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                return None, f"too large to show ({image.width}x{image.height})"
            image.draft("RGB", (MAX_IMAGE_SIDE, MAX_IMAGE_SIDE))
            rgba = image.convert("RGBA")
    except Image.DecompressionBombError:
        return None, "too large to show"
    except (OSError, ValueError) as exc:
        log.debug("artifact image not readable: %s", exc)
        return None, "cannot be shown\n(not a readable PNG or JPEG)"
    rgba.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE))
    return np.asarray(rgba), ""
