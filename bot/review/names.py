"""What a metric's name says: which way is better, and which metric it is once the
evaluation set is taken away (`valid_1-l2` and `training-l2` are both `l2`).

Libraries name their metrics `<eval set>-<metric>` (LightGBM `valid_0-l2`, XGBoost
`validation_0-rmse`) or `<set>_<metric>` (Keras `val_loss`): the metric's own name is
the suffix after a `-` or `_`, and a library's loss or score there decides first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.domain import Direction

# Library metric names (LightGBM, XGBoost, Keras/Lightning) that are lower-is-better.
LIBRARY_LOWER = frozenset(
    {
        "l1", "l2", "l2_root", "rmse", "mae", "mape", "mse", "huber", "fair", "poisson",
        "quantile", "gamma", "gamma_deviance", "tweedie", "binary_logloss", "multi_logloss",
        "binary_error", "multi_error", "cross_entropy", "cross_entropy_lambda",
        "kullback_leibler", "logloss", "mlogloss", "error", "merror", "rmsle", "mphe",
        "poisson-nloglik", "gamma-nloglik", "cox-nloglik", "aft-nloglik", "tweedie-nloglik",
        "loss", "val_loss",
    }
)  # fmt: skip
# ... and higher-is-better.
LIBRARY_HIGHER = frozenset(
    {"auc", "aucpr", "auc_mu", "ndcg", "map", "accuracy", "average_precision"}
)
_AT_K = re.compile(r"@\d+-?$")  # ndcg@5, map@10, pre@3

# Name tokens that mean "lower is better".
LOWER_TOKENS = frozenset(
    {
        "loss", "losses", "logloss", "nll", "error", "errors", "err", "rmse", "mse", "mae",
        "mape", "smape", "rmsle", "msle", "medae", "wape", "perplexity", "ppl", "latency",
        "duration", "time", "seconds", "secs", "sec", "ms", "millis", "milliseconds",
        "wer", "cer", "fpr", "fnr", "far", "frr", "eer", "ece", "brier", "hinge", "cost",
        "regret", "divergence", "kl", "distance", "fid", "drift", "memory",
    }
)  # fmt: skip
# Token sequences that mean "lower is better" although no single token says so.
LOWER_PHRASES: tuple[tuple[str, ...], ...] = (
    ("false", "positive"),
    ("false", "positives"),
    ("false", "negative"),
    ("false", "negatives"),
    ("false", "alarm"),
    ("cross", "entropy"),
    ("miss", "rate"),
    ("negative", "log", "likelihood"),
)
# sklearn's scorers negate losses ("neg_log_loss") so that higher is better.
NEGATED_PREFIXES = frozenset({"neg"})

_SEPARATORS = re.compile(r"[\s_\-./:]+")
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_BOUNDARY = re.compile(r"[-_]")

_SET_PREFIX = re.compile(r"^(?:[A-Za-z]+_\d+|[A-Za-z]+)-")  # valid_0-, training-, eval-
_SET_AFFIX = re.compile(
    r"^(?:training|train|val|valid|validation|eval|evaluation|test|holdout)[_./]"
    r"|[_./](?:training|train|val|valid|validation|eval|evaluation|test|holdout)$",
    re.IGNORECASE,
)


def name_tokens(key: str) -> list[str]:
    """Split a metric name into lowercase words: `trainingLogLoss` -> training, log, loss."""
    return [w.lower() for part in _SEPARATORS.split(key) for w in _WORDS.findall(part)]


def _has_phrase(tokens: Sequence[str], phrase: Sequence[str]) -> bool:
    n = len(phrase)
    return any(tuple(tokens[i : i + n]) == tuple(phrase) for i in range(len(tokens) - n + 1))


def suffixes(key: str) -> list[str]:
    """The name and every ending after a `-` or `_`, longest first:
    `valid_1-binary_logloss` -> itself, `1-binary_logloss`, `binary_logloss`, `logloss`."""
    name = _AT_K.sub("", key.lower())
    return [name] + [name[m.end() :] for m in _BOUNDARY.finditer(name) if name[m.end() :]]


def library_direction(key: str) -> Direction | None:
    """The direction of a library metric named at the end of `key`, or None."""
    for ending in suffixes(key):
        if ending in LIBRARY_LOWER:
            return Direction.LOWER
        if ending in LIBRARY_HIGHER:
            return Direction.HIGHER
    return None


def guess_direction(key: str) -> Direction:
    """Guess from the name whether higher or lower values are better (default: higher):
    a library's metric name at the end first, then the words of the name."""
    tokens = name_tokens(key)
    if tokens and tokens[0] in NEGATED_PREFIXES:
        return Direction.HIGHER
    known = library_direction(key)
    if known is not None:
        return known
    if any(t in LOWER_TOKENS for t in tokens):
        return Direction.LOWER
    if any(_has_phrase(tokens, p) for p in LOWER_PHRASES):
        return Direction.LOWER
    return Direction.HIGHER


def base_name(key: str) -> str:
    """The metric without the data it was measured on: `valid_0-l2` -> `l2`,
    `training_log_loss` -> `log_loss`, `val_loss` -> `loss`, `rmse_train` -> `rmse`."""
    name = _SET_PREFIX.sub("", key, count=1) if "-" in key else key
    while (stripped := _SET_AFFIX.sub("", name, count=1)) != name and stripped:
        name = stripped
    return name.lower()


def eval_set(key: str) -> str | None:
    """The evaluation set a library named in front of the metric (`valid_0`), or None."""
    match = _SET_PREFIX.match(key)
    return match.group(0)[:-1] if match and "-" in key else None
