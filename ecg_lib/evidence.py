"""The noise of a trained measurement, in one place: the rule every verdict of the book uses.

Two sources of noise (``../shared/docs/evidence-rules.md``; Bouthillier et al. 2021):

- **the test set is a sample**: an error ``e`` on ``n`` images has the binomial standard error
  ``sqrt(e (1 - e) / n)``. Every seed is scored on the same images, so this part does not shrink with
  more seeds;
- **training is random**: the seeds' standard deviation over ``sqrt(k)``.

:func:`combined_se` adds the two (``sqrt(test^2 + sd^2 / k)``, a safe upper bound); with one seed the
seed term is unknown and the result says so. Two networks scored on the same images can be compared
**paired** (:func:`paired_difference`): from each image's correctness under both networks, the standard
error of the mean per-image difference (McNemar's setting for one seed, a paired estimate over images
for several), which is several times tighter than the unpaired ``sqrt(se_a^2 + se_b^2)`` because two
networks agree on most images. Archives keep each network's correctness as one bit per test image
(:func:`pack_correct`, about 1.7 kB of text for 10,000 images).
"""

from __future__ import annotations

import base64
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Noise",
    "binomial_se",
    "combined_se",
    "pack_correct",
    "paired_difference",
    "unpack_correct",
]


def binomial_se(error: float, n: int) -> float:
    """Standard error of a test error measured on ``n`` images: sqrt(p (1 - p) / n)."""
    if n <= 0:
        raise ValueError(f"n must be positive (got {n}).")
    if not 0.0 <= error <= 1.0:
        raise ValueError(f"error must be a fraction in [0, 1] (got {error}).")
    return math.sqrt(error * (1.0 - error) / n)


@dataclass(frozen=True)
class Noise:
    """A standard error and where it comes from: ``test`` (the test-set sample: binomial or paired),
    ``seeds`` (the spread over ``k`` seeds, None with one seed) and their combination ``se``."""

    se: float
    test: float
    seeds: float | None
    k: int
    paired: bool = False

    @property
    def basis(self) -> str:
        """The basis in words, as a table's last column shows it."""
        test = "paired over images" if self.paired else "binomial"
        if self.seeds is None:
            return f"{test} SE; 1 seed, so the spread over seeds is not measured"
        return f"{test} SE combined with the spread over {self.k} seeds"


def combined_se(test_ses: Sequence[float], values: Sequence[float], *, paired: bool = False) -> Noise:
    """The book's one noise rule for a quantity measured on the same test images with ``k`` seeds:
    ``test_ses`` are each seed's test-set standard errors (binomial, or paired), ``values`` the seeds'
    measurements. The test-set part is the root mean square of ``test_ses`` (it does not shrink with
    seeds: the images are the same); the seed part is ``stdev(values) / sqrt(k)``; the two add in
    quadrature. With one seed the seed part is unknown (``seeds=None``), never zero."""
    if len(test_ses) != len(values) or not values:
        raise ValueError(f"need one test-set SE per value (got {len(test_ses)} and {len(values)}).")
    test = math.sqrt(statistics.fmean(s * s for s in test_ses))
    k = len(values)
    if k == 1:
        return Noise(test, test, None, 1, paired)
    seeds = statistics.stdev(values) / math.sqrt(k)
    return Noise(math.hypot(test, seeds), test, seeds, k, paired)


def pack_correct(correct: Sequence[bool] | np.ndarray) -> str:
    """Per-image correctness as text for a JSON archive: the bits packed 8 to a byte, base64."""
    bits = np.asarray(correct, dtype=bool)
    if bits.ndim != 1:
        raise ValueError(f"per-image correctness must be one flag per image (got shape {bits.shape}).")
    return base64.b64encode(np.packbits(bits).tobytes()).decode("ascii")


def unpack_correct(text: str, n: int) -> np.ndarray:
    """The inverse of :func:`pack_correct` for ``n`` images; text of the wrong length raises ValueError."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as exc:
        raise ValueError(f"per-image correctness is not base64 text ({exc}).") from exc
    if len(raw) != (n + 7) // 8:
        raise ValueError(f"per-image correctness holds {len(raw) * 8} bits, not {n} images' worth.")
    return np.unpackbits(np.frombuffer(raw, dtype=np.uint8))[:n].astype(bool)


def paired_difference(correct_a: Sequence[np.ndarray],
                      correct_b: Sequence[np.ndarray]) -> tuple[float, Noise]:  # fmt: skip
    """Error of ``a`` minus error of ``b`` (a fraction), averaged over seeds, with its paired noise.

    ``correct_a[s]``, ``correct_b[s]``: seed ``s``'s per-image correctness of each network on the same
    images. Per seed the difference is the mean over images of ``wrong_a - wrong_b`` and its test-set
    SE ``sd / sqrt(n)`` of that per-image difference (McNemar's setting); the seeds combine through
    :func:`combined_se`."""
    if len(correct_a) != len(correct_b) or not correct_a:
        raise ValueError("need the same number (one or more) of seeds for both networks.")
    diffs, ses = [], []
    for a, b in zip(correct_a, correct_b, strict=True):
        a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
        if a.shape != b.shape or a.ndim != 1 or a.size < 2:
            raise ValueError(f"both networks need one flag per image, on the same images "
                             f"(got {a.shape} and {b.shape}).")  # fmt: skip
        d = b.astype(np.float64) - a.astype(np.float64)  # wrong_a - wrong_b = correct_b - correct_a
        diffs.append(float(d.mean()))
        ses.append(float(d.std(ddof=1) / math.sqrt(d.size)))
    noise = combined_se(ses, diffs, paired=True)
    return statistics.fmean(diffs), noise
