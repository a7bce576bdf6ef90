"""Scoring against ground truth: pairwise clustering precision/recall and ranking ROC AUC.

Used by the tests and the benchmark on generated chains, and usable on any labelled data an
agency has (a CSV of address, owner, label). Pairwise measures are the standard for entity
resolution and address clustering: precision is the share of address pairs put in one cluster
that truly share an owner; recall the share of same-owner pairs that were put together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata


@dataclass(frozen=True)
class PairScores:
    precision: float
    recall: float
    predicted_pairs: int
    true_pairs: int
    correct_pairs: int
    mixed_clusters: int  # clusters holding addresses of more than one owner


def _pairs(counts: np.ndarray) -> int:
    counts = counts.astype(np.int64)
    return int((counts * (counts - 1) // 2).sum())


def pairwise_scores(cluster: np.ndarray, owner: np.ndarray) -> PairScores:
    """Pairwise precision and recall of ``cluster`` labels against ``owner`` labels."""
    _, cluster_codes = np.unique(cluster, return_inverse=True)
    _, owner_codes = np.unique(owner, return_inverse=True)
    predicted = _pairs(np.bincount(cluster_codes))
    true = _pairs(np.bincount(owner_codes))
    joint = cluster_codes.astype(np.int64) * (int(owner_codes.max()) + 1) + owner_codes
    cells, cell_counts = np.unique(joint, return_counts=True)
    correct = _pairs(cell_counts)
    owners_per_cluster = np.bincount((cells // (int(owner_codes.max()) + 1)).astype(np.int64))
    return PairScores(
        precision=correct / predicted if predicted else 1.0,
        recall=correct / true if true else 1.0,
        predicted_pairs=predicted,
        true_pairs=true,
        correct_pairs=correct,
        mixed_clusters=int((owners_per_cluster > 1).sum()),
    )


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U); ties count one half."""
    positive = positive.astype(bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if not n_pos or not n_neg:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
