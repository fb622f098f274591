"""Consistent perturbation of published counts: the cell key method (ABS, used by CBS and Destatis).

Every incident gets a fixed random *record key* (a keyed hash of its stored id, so the same
incident always has the same key and nobody without the secret can compute it). A cell's *cell
key* is the sum of the record keys of the incidents in it, modulo 2**32, read as a fraction of
[0, 1). A fixed *perturbation table* maps (count, cell key) to a small noise, added to the count.
The same records therefore always give the same published value: repeating or averaging a query
gains nothing, and a difference of two published counts carries the noise of both.

Notes
-----
Perturbation table: noise ``d`` in -2..2 with probabilities 0.1, 0.2, 0.4, 0.2, 0.1 (variance 1.2,
zero mean) for counts of 3 and more; for counts 1 and 2 the outcomes that would reach zero or
below are left out (renormalised), so a published zero is always a true zero and a true zero
always stays zero. Published values below the small-count threshold are then hidden. Record keys
are 32-bit integers and cell keys are summed exactly in unsigned 64-bit arithmetic (wrapping is
harmless because 2**32 divides 2**64), so the cell key never depends on the order of the records.

References
----------
Thompson, G., Broadfoot, S., Elazar, D. (2013). Methodology for the automatic confidentialisation
of statistical outputs from remote servers at the Australian Bureau of Statistics. UNECE/Eurostat
work session on statistical data confidentiality, Ottawa.
Giessing, S., Tent, R. (2019). Concepts for generalising tools implementing the cell key method to
the case of continuous variables. UNECE/Eurostat work session on statistical data confidentiality.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np

KEY_BITS = 32
KEY_MOD = 1 << KEY_BITS

#: Noise values and their probabilities for counts >= 3 (the perturbation table's general row).
NOISE = np.array([-2, -1, 0, 1, 2], dtype=np.int64)
NOISE_P = np.array([0.1, 0.2, 0.4, 0.2, 0.1])


def _table() -> np.ndarray:
    """Cumulative probabilities, one row per count 0, 1, 2 and ">= 3"."""
    rows = np.zeros((4, NOISE.size))
    rows[0] = (NOISE >= 0).astype(float)  # count 0: noise 0 with certainty (cumulative: 0,0,1,1,1)
    for count in (1, 2, 3):
        p = np.where(count + NOISE >= 1, NOISE_P, 0.0)
        rows[count] = np.cumsum(p / p.sum())
    rows[:, -1] = 1.0
    return rows


PTABLE = _table()


def record_keys(ids: Iterable, secret: bytes) -> np.ndarray:
    """The record key of each incident: 32 bits of BLAKE2b keyed with ``secret`` over its stored id.

    Parameters
    ----------
    ids : iterable
        The incidents' stored ids (the database's ``id``; anything with a stable ``str``).
    secret : bytes
        The deployment's disclosure secret (16-64 bytes).

    Returns
    -------
    numpy.ndarray of uint64, values in ``[0, 2**32)``.
    """
    if not 16 <= len(secret) <= 64:
        raise ValueError("the disclosure secret must be 16 to 64 bytes")
    out = [int.from_bytes(hashlib.blake2b(str(i).encode(), key=secret, digest_size=4).digest(), "big")
           for i in ids]
    return np.asarray(out, dtype=np.uint64)


def cell_keys(groups: np.ndarray, keys: np.ndarray, n_groups: int) -> np.ndarray:
    """Cell key (in ``[0, 1)``) of each of ``n_groups`` cells; ``groups[i]`` is record i's cell.

    Records with a negative group belong to no cell.
    """
    groups = np.asarray(groups, dtype=np.int64)
    keys = np.asarray(keys, dtype=np.uint64)
    if groups.shape != keys.shape:
        raise ValueError("one group per record key")
    inside = groups >= 0
    sums = np.zeros(n_groups, dtype=np.uint64)
    np.add.at(sums, groups[inside], keys[inside])
    return (sums % np.uint64(KEY_MOD)).astype(np.float64) / KEY_MOD


def total_key(keys: np.ndarray) -> float:
    """Cell key of the cell that holds all the given records (a total)."""
    keys = np.asarray(keys, dtype=np.uint64)
    return float(int(keys.sum(dtype=np.uint64)) % KEY_MOD) / KEY_MOD


def noise(counts: np.ndarray, ckeys: np.ndarray) -> np.ndarray:
    """The perturbation table's noise for each (count, cell key)."""
    counts = np.asarray(counts, dtype=np.int64)
    ckeys = np.asarray(ckeys, dtype=np.float64)
    rows = PTABLE[np.clip(counts, 0, 3)]
    idx = (ckeys[..., None] >= rows).sum(axis=-1)
    return NOISE[np.minimum(idx, NOISE.size - 1)]


def perturb(counts, ckeys, threshold: int) -> list:
    """Published values: ``count + noise``, ``None`` where that is below ``threshold``; 0 stays 0.

    Works on any shape; returns nested lists of ``int`` / ``None``.
    """
    counts = np.asarray(counts, dtype=np.int64)
    if counts.size and counts.min() < 0:
        raise ValueError("counts cannot be negative")
    published = counts + noise(counts, ckeys)
    out = np.where((counts > 0) & (published < threshold), None, published.astype(object))
    out = np.where(counts == 0, 0, out)
    return out.tolist()


def perturb_one(count: int, ckey: float, threshold: int) -> int | None:
    """:func:`perturb` of a single count."""
    return perturb(np.array([count]), np.array([ckey]), threshold)[0]
