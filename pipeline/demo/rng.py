"""Counter-based random numbers: the value for (seed, stream, index) is computed directly.

This makes the demo market random-access: any hour of any asset can be produced without
generating everything before it, and the same hour is always the same number, whatever range
was asked for.
"""

from __future__ import annotations

import zlib

import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def stream_id(*parts: object) -> int:
    return zlib.crc32("/".join(str(p) for p in parts).encode())


def _splitmix(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def uniform(seed: int, stream: int, index: np.ndarray) -> np.ndarray:
    """Uniform numbers in (0, 1), one per index."""
    key = np.uint64((seed * 0x1000193 + stream) & 0xFFFFFFFFFFFFFFFF)
    with np.errstate(over="ignore"):
        x = _splitmix(_splitmix(np.asarray(index, dtype=np.int64).astype(np.uint64) ^ key))
    return ((x >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / 2**53)


def normal(seed: int, stream: int, index: np.ndarray) -> np.ndarray:
    """Standard normal numbers (Box-Muller), one per index."""
    idx = np.asarray(index, dtype=np.int64)
    u1 = uniform(seed, stream, 2 * idx)
    u2 = uniform(seed, stream, 2 * idx + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
