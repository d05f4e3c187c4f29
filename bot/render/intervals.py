"""How intervals read in the comment: `0.884 ± 0.006 (n=5)`, `+0.013 [+0.004, +0.022]`,
and the legend line that says how they were computed (template filters)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from bot.domain import Estimate, MetricRow, Spread
from bot.render.markdown import MINUS, fmt_delta, fmt_num

NOISE_ICON = "〰️"
MISSED_ICON = "🚫"


MAX_DECIMALS = 12


def _decimals(half_width: float) -> int | None:
    """Decimals that show the uncertainty's first significant digit (two when it starts
    with 1 or 2); None: no rounding."""
    if not math.isfinite(half_width) or half_width <= 0:
        return None
    power = math.floor(math.log10(half_width))
    extra = 1 if half_width / 10**power < 3 else 0
    return min(MAX_DECIMALS, max(0, extra - power))


def _fixed(x: float, decimals: int | None, signed: bool = False) -> str:
    if decimals is None or not math.isfinite(x) or abs(x) >= 1e12:
        return fmt_delta(x) if signed else fmt_num(x)
    text = f"{abs(x):.{decimals}f}"
    if float(text) == 0:
        return "±0" if signed else "0"
    sign = MINUS if x < 0 else ("+" if signed else "")
    return sign + text


def with_spread(value: float | None, spread: Spread | None) -> str:
    """`0.884 ± 0.006 (n=5)`: rounded to the interval's first digit; the plain number
    without repeats."""
    if spread is None:
        return fmt_num(value)
    places = _decimals(spread.half_width)
    return f"{_fixed(spread.mean, places)} ± {_fixed(spread.half_width, places)} (n={spread.n})"


def interval(estimate: Estimate) -> str:
    """`+0.013 [+0.004, +0.022]`: the difference and its 95% interval."""
    places = _decimals((estimate.high - estimate.low) / 2)
    low, high = _fixed(estimate.low, places, True), _fixed(estimate.high, places, True)
    return f"{_fixed(estimate.delta, places, True)} [{low}, {high}]"


def missed(bars: Sequence[str]) -> str:
    return f"{MISSED_ICON} " + ", ".join(bars) if bars else ""


def methods_line(rows: Sequence[MetricRow]) -> str:
    """What the intervals mean, when the table shows any; else ""."""
    estimates = [c.estimate for row in rows for c in row.cells if c.estimate is not None]
    spreads = any(c.spread for row in rows for c in row.cells) or any(
        row.baseline_spread for row in rows
    )
    if not estimates and not spreads:
        return ""
    methods = sorted({e.method for e in estimates})
    parts = ["± is the 95% t-interval of the mean of n repeats"] if spreads else []
    if estimates:
        n = len(estimates)
        parts.append(
            f"[ ] is the 95% interval of the difference ({', '.join(methods)}); a change "
            f"counts only when significant after Holm's correction across the {n} "
            f"comparison{'s' if n != 1 else ''} of this review, else it is "
            f"{NOISE_ICON} within noise"
        )
    return "; ".join(parts) + "."


def has_missed(rows: Sequence[MetricRow]) -> bool:
    return any(row.missed for row in rows)
