"""Tenants (root orgs) and the school geography: state → district → block → cluster → school.

UDISE codes follow the real layout: state (2) + district (2) + block (2) + village (3) + school (2).
Built with numpy repeats over a few thousand schools; every learner then just picks a school index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from exhaust.demo.arrays import join, pick
from exhaust.demo.vocab import (
    CUSTODIAN_ORG_NAME,
    PLACE_ENDS,
    PLACE_STARTS,
    SCHOOL_PATTERNS,
    SCHOOL_PATTERNS_DIRTY,
    STATES,
)

BLOCKS_PER_DISTRICT = 5
CLUSTERS_PER_BLOCK = 4
SCHOOLS_PER_CLUSTER = 5


@dataclass(frozen=True)
class Tenants:
    """Root orgs: one per state plus the custodian org (self-signed-in users)."""

    ids: list[str]  # index i < len(STATES) is the tenant of STATES[i]; the last one is the custodian
    names: list[str]

    @property
    def custodian(self) -> str:
        return self.ids[-1]


@dataclass(frozen=True)
class Schools:
    """Every school with its location, sorted by state; `state_start[s]:state_start[s+1]` are state s's."""

    state: pa.Array
    district: pa.Array
    block: pa.Array
    cluster: pa.Array
    name: pa.Array
    udise: pa.Array
    state_index: np.ndarray
    state_start: np.ndarray

    def __len__(self) -> int:
        return len(self.udise)


def make_tenants(rng: np.random.Generator) -> Tenants:
    ids = ["01" + "".join(map(str, rng.integers(0, 10, size=17))) for _ in range(len(STATES) + 1)]
    return Tenants(ids=ids, names=[s[3] for s in STATES] + [CUSTODIAN_ORG_NAME])


def _places(rng: np.random.Generator, n: int) -> pa.Array:
    starts = pick(PLACE_STARTS, rng.integers(0, len(PLACE_STARTS), n))
    ends = pick(PLACE_ENDS, rng.integers(0, len(PLACE_ENDS), n))
    return join(starts, ends)


def make_schools(rng: np.random.Generator) -> Schools:
    district_state = np.concatenate([np.full(len(s[5]), i) for i, s in enumerate(STATES)])
    district_names = [d for s in STATES for d in s[5]]
    district_code = np.concatenate([np.arange(1, len(s[5]) + 1) for s in STATES])
    per_district = BLOCKS_PER_DISTRICT * CLUSTERS_PER_BLOCK * SCHOOLS_PER_CLUSTER
    district = np.repeat(np.arange(len(district_names)), per_district)
    n = len(district)
    position = np.arange(n) % per_district
    block_no = position // (CLUSTERS_PER_BLOCK * SCHOOLS_PER_CLUSTER)
    cluster_no = position // SCHOOLS_PER_CLUSTER
    school_no = position % SCHOOLS_PER_CLUSTER

    block_names = _places(rng, len(district_names) * BLOCKS_PER_DISTRICT)
    cluster_names = _places(rng, len(district_names) * BLOCKS_PER_DISTRICT * CLUSTERS_PER_BLOCK)
    block = pick(block_names, district * BLOCKS_PER_DISTRICT + block_no)
    cluster = pick(cluster_names, district * BLOCKS_PER_DISTRICT * CLUSTERS_PER_BLOCK + cluster_no)
    state_index = district_state[district]
    state_names = [s[0] for s in STATES]
    district_arr = pick(district_names, district)

    # School names: the state's own patterns, a few that need CSV quoting.
    names = pa.nulls(n, pa.string())
    for s, spec in enumerate(STATES):
        patterns = SCHOOL_PATTERNS[spec[2]]
        mine = state_index == s
        choice = rng.integers(0, len(patterns), n)
        for p, pattern in enumerate(patterns):
            names = _fill(names, mine & (choice == p), pattern, cluster, district_arr, block)
    dirty = rng.random(n) < 0.04
    choice = rng.integers(0, len(SCHOOL_PATTERNS_DIRTY), n)
    for p, pattern in enumerate(SCHOOL_PATTERNS_DIRTY):
        names = _fill(names, dirty & (choice == p), pattern, cluster, district_arr, block)

    codes = np.array([s[1] for s in STATES])[state_index]
    udise = join(
        pa.array(codes),
        _padded(district_code[district], 2),
        _padded(block_no + 1, 2),
        _padded(cluster_no * 7 + 101, 3),
        _padded(school_no + 1, 2),
    )
    state_start = np.searchsorted(state_index, np.arange(len(STATES) + 1))
    return Schools(
        state=pick(state_names, state_index),
        district=district_arr,
        block=block,
        cluster=cluster,
        name=names,
        udise=udise,
        state_index=state_index,
        state_start=state_start,
    )


def _fill(names: pa.Array, mask: np.ndarray, pattern: str, village, district, block) -> pa.Array:
    if not mask.any():
        return names
    text = pattern.replace("{v}", "\x00v\x00").replace("{d}", "\x00d\x00").replace("{b}", "\x00b\x00")
    parts = []
    for i, piece in enumerate(text.split("\x00")):
        if i % 2:
            parts.append({"v": village, "d": district, "b": block}[piece])
        elif piece:
            parts.append(piece)
    return pc.if_else(pa.array(mask), join(*parts), names)


def _padded(values: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(pa.array(values.astype(np.int64)).cast(pa.string()), width=width, padding="0")
