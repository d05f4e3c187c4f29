"""What the figure tests read from PNG bytes and matplotlib figures."""

from __future__ import annotations

import struct

from matplotlib.axes import Axes

from bot.plots.figures import DPI


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def pixels(size: tuple[float, float]) -> tuple[int, int]:
    return round(size[0] * DPI), round(size[1] * DPI)


def texts(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.texts]
