"""The CIFAR-10 heads runner (`benchmarks/cifar10_heads.py`) at a tiny scale on CPU."""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "benchmarks"))

import cifar10_heads  # noqa: E402
import gpu_data  # noqa: E402


def write_records(path, count, seed):
    """CIFAR-10 binary records: a label byte, then 3,072 pixel bytes."""
    rng = np.random.RandomState(seed)
    records = np.concatenate(
        [rng.randint(0, 10, (count, 1)), rng.randint(0, 256, (count, 3072))], axis=1
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(records.astype("uint8").tobytes())


def test_runner_stops_at_its_time_budget_and_continues_where_it_stopped(tmp_path, capsys):
    data = tmp_path / "data"
    for index in range(1, 6):
        write_records(data / "cifar-10-batches-bin" / f"data_batch_{index}.bin", 16, index)
    write_records(data / "cifar10-test-first1000" / "test_batch_first1000.bin", 1000, 0)
    out = tmp_path / "run"
    arguments = [
        "--backbone", "lenet5", "--epochs", "2", "--train-examples", "64", "--batch-size", "32",
        "--heads", "switched-recommended", "magnitude", "--data-dir", str(data), "--out", str(out),
    ]
    assert cifar10_heads.main(arguments + ["--time-budget", "0", "--verbose", "0"]) == cifar10_heads.UNFINISHED
    assert json.loads((out / "switched-recommended.json").read_text())["epochs"] == 1
    assert cifar10_heads.main(arguments + ["--verbose", "0"]) == 0
    assert "switched-recommended: continuing after epoch 1" in capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    assert results["device"].startswith("cpu")
    rows = {row["head"]: row for row in results["rows"]}
    assert rows["switched-recommended"]["head_sparsity"] == 0.9
    assert abs(rows["magnitude"]["head_sparsity"] - 0.9) < 1e-3
    assert all(row["test_images"] == 1000 and row["epochs"] == 2 for row in rows.values())
    assert "| magnitude |" in (out / "results.md").read_text()


def test_gpu_data_is_staged_in_parts_and_checked_against_md5sums(tmp_path, monkeypatch):
    source = tmp_path / "shared"
    for index in range(1, 4):
        write_records(source / "cifar-10-batches-bin" / f"data_batch_{index}.bin", 10, index)
    write_records(source / "mnist" / "other.bin", 1, 0)
    lines = [f"{gpu_data.md5(p)}  {p.relative_to(source)}" for p in sorted(source.rglob("*.bin"))]
    (source / "MD5SUMS").write_text("\n".join(lines) + "\n")
    staged = tmp_path / "gpu_data"
    size = (source / "cifar-10-batches-bin" / "data_batch_1.bin").stat().st_size
    monkeypatch.setattr(gpu_data, "PART_BYTES", 2 * size)  # Two files a part.
    parts = gpu_data.stage(str(source), str(staged), ["cifar"])
    assert [len(part) for part in parts] == [3, 1]  # MD5SUMS travels with the first.
    assert not (staged / "mnist").exists()
    assert gpu_data.verify(str(staged), ["cifar"]) == ([], [])
    (staged / "cifar-10-batches-bin" / "data_batch_3.bin").unlink()
    corrupt = staged / "cifar-10-batches-bin" / "data_batch_2.bin"
    corrupt.write_bytes(b"\x00" + corrupt.read_bytes()[1:])
    assert gpu_data.verify(str(staged), ["cifar"]) == (
        ["cifar-10-batches-bin/data_batch_3.bin"], ["cifar-10-batches-bin/data_batch_2.bin"]
    )
