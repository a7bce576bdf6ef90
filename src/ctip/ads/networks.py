"""Networks of ads linked by what they share: phones, e-mails, handles, wallets, images, text.

The input is a list of identifier rows ``(ad index, kind, value)``; any capability can add a
kind (media adds ``image`` rows for matching photos, crypto may add wallet clusters) without
changes here. Ads and values form a bipartite graph; its connected components (scipy's
union-find style ``connected_components`` on a sparse matrix) are the networks. A component with
more than ``max_size`` ads (a hub number shared by a whole agency, or a chain of loosely related
clusters) is split into communities with the Leiden algorithm (Traag, Waltman & van Eck 2019,
``leidenalg`` on ``igraph``, modularity), so analysts get groups they can read; such networks
keep their component id so the split is visible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

LINK_KINDS = ("phone", "email", "handle", "wallet", "image", "cluster")


@dataclass
class NetworkAssignment:
    """Per ad: its network label and its connected-component label (both 0-based)."""

    network: np.ndarray
    component: np.ndarray
    split_components: int


def build_networks(
    ad_count: int,
    ads: Sequence[int] | np.ndarray,
    values: Sequence[str] | np.ndarray,
    *,
    max_size: int = 5000,
    resolution: float = 1.0,
    seed: int = 1,
) -> NetworkAssignment:
    """Networks of ``ad_count`` ads from link rows (``ads[i]`` has identifier ``values[i]``).

    ``values`` should carry their kind ("phone:+17025550123") so different kinds never merge.
    """
    ad_index = np.asarray(ads, dtype=np.int64)
    if len(ad_index) == 0:
        labels = np.arange(ad_count, dtype=np.int64)
        return NetworkAssignment(labels, labels.copy(), 0)
    value_index, uniques = pd.factorize(pd.Series(np.asarray(values, dtype=object)), sort=False)
    value_count = len(uniques)
    nodes = ad_count + value_count
    graph = coo_matrix(
        (np.ones(len(ad_index), dtype=np.int8), (ad_index, ad_count + value_index)),
        shape=(nodes, nodes),
    )
    _, labels = connected_components(graph, directed=False)
    component = _relabel(labels[:ad_count])
    network = component.copy()
    sizes = np.bincount(component)
    large = np.flatnonzero(sizes > max_size)
    next_label = int(component.max()) + 1
    for label in large:
        members = np.flatnonzero(component == label)
        communities = _leiden(members, ad_index, value_index, ad_count, resolution, seed)
        for community in np.unique(communities)[1:]:
            network[members[communities == community]] = next_label
            next_label += 1
    return NetworkAssignment(_relabel(network), component, len(large))


def _leiden(
    members: np.ndarray,
    ad_index: np.ndarray,
    value_index: np.ndarray,
    ad_count: int,
    resolution: float,
    seed: int,
) -> np.ndarray:
    """Leiden communities of one component's ads (bipartite ad-value graph, modularity)."""
    import igraph
    import leidenalg

    inside = np.isin(ad_index, members)
    local_ads = np.searchsorted(members, ad_index[inside])
    values = value_index[inside]
    value_ids, local_values = np.unique(values, return_inverse=True)
    edges = np.stack([local_ads, len(members) + local_values], axis=1)
    graph = igraph.Graph(n=len(members) + len(value_ids), edges=edges.tolist())
    partition = leidenalg.find_partition(
        graph,
        leidenalg.RBConfigurationVertexPartition,
        resolution_parameter=resolution,
        seed=seed,
    )
    membership = np.asarray(partition.membership, dtype=np.int64)
    del ad_count
    return membership[: len(members)]


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0..k-1 in order of first appearance (stable across runs)."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return order[inverse].astype(np.int64)
