"""The one noise rule (ecg_lib.evidence), pinned with numbers worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ecg_lib.evidence import binomial_se, combined_se, pack_correct, paired_difference, unpack_correct


def test_binomial_se_of_a_test_error() -> None:
    assert binomial_se(0.2, 10_000) == pytest.approx(0.004)  # 0.40 points at 20% on 10,000 images
    assert binomial_se(0.2, 1_000) == pytest.approx(0.012649, abs=1e-6)
    with pytest.raises(ValueError, match="positive"):
        binomial_se(0.2, 0)


def test_one_seed_never_claims_a_seed_spread_of_zero() -> None:
    noise = combined_se([0.004], [0.01])
    assert noise.seeds is None and noise.se == pytest.approx(0.004) and "1 seed" in noise.basis


def test_the_test_set_part_does_not_shrink_with_seeds() -> None:
    # two seeds, same test-set SE each: the test part stays 0.004, the seeds add sd/sqrt(2)
    noise = combined_se([0.004, 0.004], [0.010, 0.014])
    assert noise.test == pytest.approx(0.004)
    assert noise.seeds == pytest.approx(np.std([0.010, 0.014], ddof=1) / math.sqrt(2))
    assert noise.se == pytest.approx(math.hypot(0.004, 0.002))
    assert "spread over 2 seeds" in noise.basis


def test_bits_round_trip_and_refuse_the_wrong_length() -> None:
    rng = np.random.default_rng(0)
    bits = rng.random(10_000) < 0.7
    text = pack_correct(bits)
    assert len(text) <= 1_700 and np.array_equal(unpack_correct(text, 10_000), bits)
    assert np.array_equal(unpack_correct(pack_correct([True, False, True]), 3), [True, False, True])
    with pytest.raises(ValueError, match="not 9991 images"):
        unpack_correct(text, 9_991)
    with pytest.raises(ValueError, match="base64"):
        unpack_correct("not base64!", 8)


def test_paired_difference_is_tighter_than_unpaired() -> None:
    # 1,000 images: A is wrong on 200, B on 180; they share 170 wrong images (30 only A, 10 only B)
    n = 1_000
    a, b = np.ones(n, bool), np.ones(n, bool)
    a[:200] = False
    b[:170] = False
    b[200:210] = False
    diff, noise = paired_difference([a], [b])
    assert diff == pytest.approx(0.02)
    # per-image difference: +1 on 30 images, -1 on 10: sd with ddof=1 over 1,000 values
    d = np.zeros(n)
    d[170:200] = 1
    d[200:210] = -1
    assert noise.test == pytest.approx(d.std(ddof=1) / math.sqrt(n)) and noise.paired and noise.seeds is None
    unpaired = math.hypot(binomial_se(0.2, n), binomial_se(0.18, n))
    assert noise.se < unpaired / 2.5  # 0.0063 against 0.0177
    with pytest.raises(ValueError, match="same number"):
        paired_difference([a], [])
