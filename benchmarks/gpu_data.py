"""Data for the GPU machine: stage it in parts small enough to carry, then check it.

A `device` call carries at most 64 MiB, and CIFAR-10's training batches
are 154 MB. `stage` copies the files named in `MD5SUMS` (those under the
given prefixes) into a folder of the repository that git ignores
(`gpu_data/`), with `MD5SUMS` itself, and prints the groups of files to
carry, one group per call; files carried into that folder stay on the
machine while it is up. `verify`, run there after the last group, checks
every file against `MD5SUMS`.

    python benchmarks/gpu_data.py stage --data-dir ../shared/data --prefix cifar
    python benchmarks/gpu_data.py verify --data-dir gpu_data --prefix cifar
"""

import argparse
import hashlib
import os
import shutil
import sys

PART_BYTES = 48 * 2**20  # Leaves room for the working tree in each call.


def read_sums(data_dir, prefixes):
    """`{relative path: md5}` from `data_dir/MD5SUMS`, for paths under `prefixes`."""
    sums = {}
    with open(os.path.join(data_dir, "MD5SUMS")) as file:
        for line in file:
            digest, path = line.split()
            if path.startswith(tuple(prefixes)):
                sums[path] = digest
    return sums


def md5(path):
    digest = hashlib.md5()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(2**20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def groups(sizes, limit):
    """Consecutive groups of files whose sizes add up to at most `limit` each."""
    parts, current, total = [], [], 0
    for path, size in sizes.items():
        if current and total + size > limit:
            parts.append(current)
            current, total = [], 0
        current.append(path)
        total += size
    return parts + ([current] if current else [])


def stage(data_dir, into, prefixes):
    """Copies the files into `into` and returns the groups to carry."""
    sums = read_sums(data_dir, prefixes)
    os.makedirs(into, exist_ok=True)
    shutil.copyfile(os.path.join(data_dir, "MD5SUMS"), os.path.join(into, "MD5SUMS"))
    sizes = {}
    for path in sums:
        target = os.path.join(into, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.path.join(data_dir, path), target)
        sizes[os.path.join(into, path)] = os.path.getsize(target)
    first, *rest = groups(sizes, PART_BYTES)
    return [[os.path.join(into, "MD5SUMS")] + first] + rest


def verify(data_dir, prefixes):
    """Returns `(missing, wrong)` lists of the files that fail `MD5SUMS`."""
    missing, wrong = [], []
    for path, digest in read_sums(data_dir, prefixes).items():
        full = os.path.join(data_dir, path)
        if not os.path.exists(full):
            missing.append(path)
        elif md5(full) != digest:
            wrong.append(path)
    return missing, wrong


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["stage", "verify"])
    parser.add_argument("--data-dir", required=True, help="folder holding MD5SUMS")
    parser.add_argument("--into", default="gpu_data", help="stage: folder git ignores")
    parser.add_argument("--prefix", nargs="+", default=["cifar"], help="paths in MD5SUMS to take")
    args = parser.parse_args(argv)
    if args.command == "stage":
        for index, group in enumerate(stage(args.data_dir, args.into, args.prefix), start=1):
            print(f"carry {index}: {' '.join(group)}")
        return 0
    missing, wrong = verify(args.data_dir, args.prefix)
    for path in missing:
        print(f"missing: {path}")
    for path in wrong:
        print(f"checksum differs: {path}")
    if missing or wrong:
        return 1
    print("all files match MD5SUMS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
