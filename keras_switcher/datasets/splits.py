"""Split strings in the tensorflow-datasets style: `"train"`, `"test[:10%]"`."""

import re

_SPLIT = re.compile(r"^(?P<name>[a-z]+)(\[(?P<start>-?\d+%?)?:(?P<stop>-?\d+%?)?\])?$")


def parse(split, names):
    """Parses a split string.

    Args:
        split: `"NAME"` or `"NAME[start:stop]"`, bounds as example counts or
            percentages (`"train[:5000]"`, `"test[50%:]"`).
        names: The split names the dataset has.

    Returns:
        `(name, start, stop)`; bounds are strings or `None`.
    """
    match = _SPLIT.match(split) if isinstance(split, str) else None
    if match is None or match["name"] not in names:
        raise ValueError(
            "Received an invalid value for `split`, expected one of "
            f"{sorted(names)}, optionally sliced like 'train[:5000]' or "
            f"'test[50%:]'. Received: split={split!r}"
        )
    return match["name"], match["start"], match["stop"]


def bound_to_index(bound, size):
    """Converts a bound (`"10%"`, `"-500"` or `None`) to a Python slice index."""
    if bound is None:
        return None
    if bound.endswith("%"):
        return round(int(bound[:-1]) * size / 100)
    return int(bound)


def select(arrays, split, names):
    """Slices arrays of the named splits as a split string asks.

    Args:
        arrays: Dict from split name to a tuple of equally long arrays.
        split: Split string, see `parse`.
        names: The split names the dataset has.

    Returns:
        The tuple of arrays of the requested split and slice.
    """
    name, start, stop = parse(split, names)
    data = arrays[name]
    size = len(data[0])
    window = slice(bound_to_index(start, size), bound_to_index(stop, size))
    selected = tuple(array[window] for array in data)
    if len(selected[0]) == 0:
        raise ValueError(
            f"Received split={split!r}, which selects no examples of the "
            f"{size:,} in '{name}': expected a slice [start:stop] with start "
            "before stop, such as 'train[:5000]'."
        )
    return selected
