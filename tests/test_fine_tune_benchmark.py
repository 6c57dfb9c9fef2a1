"""The sparse fine-tuning benchmark (`benchmarks/fine_tune.py`) end to end, tiny."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "benchmarks"))

import fine_tune  # noqa: E402


def test_the_methods_write_their_rows(mnist_dir, tmp_path):
    # One of each kind of method: plain, weightless (observing the task
    # steps), a U-Net (frozen: the same code path without its updates).
    methods = ["dense", "movement+magnitude", "unet-frozen"]
    out = tmp_path / "fine_tune"
    fine_tune.main([
        "--data-dir", os.path.dirname(mnist_dir), "--out", str(out), "--targets", "0.9",
        "--seeds", "0", "--source-epochs", "1", "--epochs", "2", "--limit", "384",
        "--refresh-steps", "2", "--methods", *methods,
    ])
    rows = json.loads((out / "results.json").read_text())
    assert [row["method"] for row in rows] == methods
    for row in rows:
        assert set(row) >= {"method", "target", "seed", "accuracy", "sparsity", "seconds_per_epoch"}
        assert row["accuracy"] > 25, row  # Five classes: chance is 20%.
        if row["method"] != "dense":
            assert abs(row["sparsity"] - 0.9) < 1e-3, row
    assert (out / "accuracy_vs_sparsity.png").stat().st_size > 0
    assert "| unet-frozen | 90% |" in (out / "results.md").read_text()
    assert rows[-1]["accuracy"] > 25


def test_class_lists_parse():
    assert fine_tune.parse_classes("5-9") == [5, 6, 7, 8, 9]
    assert fine_tune.parse_classes("0,2,4") == [0, 2, 4]
