"""The CLI benchmark's arithmetic (bench/bench_cli.py): the size target as a budget per resource."""

from __future__ import annotations

import pytest

from tests.helpers import bench_cli


def test_the_benchmark_turns_the_size_target_into_a_budget_per_resource():
    bench = bench_cli()
    # 2026-12-01 19:30 UTC: dev 1.081 s (80 resources), 50 models 2.416 s (391), bare floors 0.656 s and 1.960 s
    scale = bench.scaling(1.081, 2.416, 80, 391, 0.656, 1.960)
    assert scale["per_resource_ms"] == pytest.approx(4.29, abs=0.01)
    assert scale["fixed_s"] == pytest.approx(0.738, abs=0.001)
    assert scale["budget_per_resource_ms"] == pytest.approx(1000 * 0.738 / 542, abs=0.01)  # c <= F / 542
    assert scale["floor_per_resource_ms"] == pytest.approx(4.19, abs=0.01)
    assert "engine_floor_per_resource_ms" not in scale
    engine = bench.scaling(1.081, 2.416, 80, 391, 0.656, 1.960, engine_floor_dev_s=0.6, engine_floor_big_s=0.911)
    assert engine["engine_floor_per_resource_ms"] == pytest.approx(1.0, abs=0.01)  # 0.311 s over 311 resources
    # a preview whose cost per resource is within the budget meets the target, one just above it does not
    fixed, n_dev, n_big = 0.7, 80, 391
    budget = 0.5 * fixed / (n_big - 1.5 * n_dev)
    for c, meets in ((0.999 * budget, True), (1.001 * budget, False)):
        dev, big = fixed + n_dev * c, fixed + n_big * c
        found = bench.scaling(dev, big, n_dev, n_big, 0.5, 1.5)
        assert found["per_resource_ms"] == pytest.approx(1000 * c, abs=0.01)
        assert found["budget_per_resource_ms"] == pytest.approx(1000 * budget, abs=0.01)
        assert (big <= 1.5 * dev) is meets
    with pytest.raises(ValueError, match=r"more than 1\.5 x"):
        bench.scaling(1.0, 1.1, 80, 100, 0.5, 0.6)
