"""Clustering scores shared by the grouping benchmarks."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence


def grouping_accuracy(truth: Sequence[Hashable], predicted: Sequence[Hashable]) -> float:
    """Loghub's GA: a message is correct when its predicted group holds exactly its true group's messages."""
    true_groups: dict[Hashable, set[int]] = defaultdict(set)
    pred_groups: dict[Hashable, set[int]] = defaultdict(set)
    for index, (t, p) in enumerate(zip(truth, predicted, strict=True)):
        true_groups[t].add(index)
        pred_groups[p].add(index)
    correct = sum(
        len(members) for members in pred_groups.values() if true_groups[truth[next(iter(members))]] == members
    )
    return correct / len(truth) if truth else 1.0


def purity(truth: Sequence[Hashable], predicted: Sequence[Hashable]) -> float:
    """Share of messages whose predicted group's majority true label is their own label."""
    by_pred: dict[Hashable, Counter] = defaultdict(Counter)
    for t, p in zip(truth, predicted, strict=True):
        by_pred[p][t] += 1
    return sum(c.most_common(1)[0][1] for c in by_pred.values()) / len(truth) if truth else 1.0


def inverse_purity(truth: Sequence[Hashable], predicted: Sequence[Hashable]) -> float:
    """Purity with the roles swapped: how little each true group is scattered."""
    return purity(predicted, truth)
