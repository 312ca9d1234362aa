"""Pure functions of identity: clusters from links, and the rule that keeps keys stable.

Clusters are the connected components of the links (valid-NIK links, Splink links at or above
the threshold, a case officer's "same"), computed with SciPy's sparse graph routines: linear
in records plus links, a second for millions.

The key rule (docs/IDENTITY.md; ``marts.worker_key_history`` records every change):

1. a record keeps the key it had while its cluster keeps it;
2. each existing key stays with the cluster that holds most of the records it had (a tie goes
   to the cluster holding the smallest of those record ids); other clusters holding some of
   its records are **split** from it;
3. a cluster that ends up holding several existing keys is a **merge**: the oldest key
   survives (issued on the earliest night, then the smallest key); the others are retired
   with the survivor as successor;
4. a cluster holding no existing key gets a new one (a split-off part, or only new records);
   a new key is never one issued before, so a retired key always means its successor.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

MERGE, SPLIT = "merge", "split"


def connected_components(record_count: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Component label of each record (0..n-1); ``left``/``right`` index linked records."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as components

    if record_count == 0:
        return np.zeros(0, dtype=np.int64)
    graph = coo_matrix(
        (np.ones(len(left), dtype=np.int8), (left, right)), shape=(record_count, record_count)
    )
    _, labels = components(graph, directed=False)
    return labels


@dataclass(frozen=True)
class KeyChange:
    old_key: str
    new_key: str
    reason: str  # MERGE or SPLIT
    records_moved: int  # records that held old_key and now hold new_key


@dataclass(frozen=True)
class KeyAssignment:
    key_of_cluster: dict[int, str]
    changes: list[KeyChange]
    issued: list[str]  # keys new tonight
    retired: dict[str, str | None]  # old key -> successor (None: its records are all gone)


def assign_keys(
    clusters: Mapping[int, Sequence[str]],
    previous_key: Mapping[str, str],
    key_issued_on: Mapping[str, date],
    new_key_for: Callable[[Sequence[str]], Iterable[str]],
) -> KeyAssignment:
    """Keys for tonight's clusters under the rule above.

    ``clusters``: cluster label -> its record ids; ``previous_key``: record id -> the key it
    held (records new tonight are absent); ``key_issued_on``: every key ever issued -> the
    night it was issued (retired ones included, so none is issued twice); ``new_key_for``:
    candidate keys for a cluster that needs a new one, best first (the first not yet issued
    is taken).
    """
    # records of each old key in each cluster
    holdings: dict[str, Counter] = defaultdict(Counter)
    smallest_record: dict[tuple[str, int], str] = {}
    for label, records in clusters.items():
        for record in records:
            key = previous_key.get(record)
            if key is None:
                continue
            holdings[key][label] += 1
            if (key, label) not in smallest_record or record < smallest_record[(key, label)]:
                smallest_record[(key, label)] = record

    # rule 2: each old key goes to the cluster with most of its records
    claimed: dict[int, list[str]] = defaultdict(list)
    winner_of_key: dict[str, int] = {}
    for key, counts in holdings.items():
        label = min(counts, key=lambda c: (-counts[c], smallest_record[(key, c)]))
        winner_of_key[key] = label
        claimed[label].append(key)

    key_of_cluster: dict[int, str] = {}
    changes: list[KeyChange] = []
    retired: dict[str, str | None] = {}
    issued: list[str] = []
    taken = set(key_issued_on)

    # rule 3: merges keep the oldest key
    for label, keys in claimed.items():
        keys.sort(key=lambda k: (key_issued_on.get(k, date.max), k))
        survivor = keys[0]
        key_of_cluster[label] = survivor
        for old in keys[1:]:
            retired[old] = survivor
            changes.append(KeyChange(old, survivor, MERGE, holdings[old][label]))

    # rule 4: new keys, in a deterministic order
    for label in sorted(clusters, key=lambda c: min(clusters[c])):
        if label in key_of_cluster:
            continue
        new_key = next((k for k in new_key_for(clusters[label]) if k not in taken), None)
        if new_key is None:
            raise ValueError(f"no unused key for the cluster of {min(clusters[label])}")
        taken.add(new_key)
        issued.append(new_key)
        key_of_cluster[label] = new_key
        for old, counts in holdings.items():
            if label in counts:  # records split off an old key
                changes.append(KeyChange(old, new_key, SPLIT, counts[label]))

    # split-offs into clusters that kept another old key
    for old, counts in holdings.items():
        for label, moved in counts.items():
            survivor = key_of_cluster[label]
            if label != winner_of_key[old] and survivor != old and label in claimed:
                changes.append(KeyChange(old, survivor, SPLIT, moved))

    # keys whose records are all gone
    for old in set(previous_key.values()) - set(holdings):
        retired[old] = None
    return KeyAssignment(key_of_cluster, changes, issued, retired)
