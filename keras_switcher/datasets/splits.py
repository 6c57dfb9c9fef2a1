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


def hold_out(split, fraction, names):
    """Cuts the last `fraction` of a split off, for validation.

    Args:
        split: Split string, see `parse`, without bounds or with bounds of
            one kind (both counts or both percentages; a missing start or
            stop is the split's start or end).
        fraction: Fraction of the split's examples to hold out, in `(0, 1)`.
        names: The split names the dataset has.

    Returns:
        `(training_split, validation_split)`, two split strings.

    Example:

    >>> hold_out("train", 0.1, ("train", "test"))
    ('train[:90%]', 'train[90%:]')
    >>> hold_out("train[:10000]", 0.2, ("train", "test"))
    ('train[:8000]', 'train[8000:10000]')
    """
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
        raise ValueError(
            "Received an invalid value for `validation_split`, expected a "
            f"fraction in (0, 1). Received: validation_split={fraction!r}"
        )
    name, start, stop = parse(split, names)
    percent = any(bound is not None and bound.endswith("%") for bound in (start, stop))
    counts = any(bound is not None and not bound.endswith("%") for bound in (start, stop))
    if (percent and counts) or any(bound is not None and bound.startswith("-") for bound in (start, stop)):
        raise ValueError(
            f"Cannot hold out part of split={split!r}: give both bounds as "
            "counts or both as percentages, without negative values, such as "
            "'train[:10000]' or 'train[50%:]'."
        )
    if counts and stop is None:
        raise ValueError(
            f"Cannot hold out part of split={split!r} without knowing where it "
            "ends: give its stop as well, such as 'train[5000:60000]'."
        )
    unit = "" if counts else "%"
    first = int((start or "0").rstrip("%"))
    last = int(stop.rstrip("%")) if stop is not None else 100
    if last <= first:
        raise ValueError(
            f"Received split={split!r}, which selects no examples: expected a "
            "slice [start:stop] with start before stop, such as 'train[:5000]'."
        )
    cut = last - round(fraction * (last - first))
    if not first < cut < last:
        raise ValueError(
            f"Holding out validation_split={fraction} of split={split!r} leaves "
            "one of the two parts empty: use a larger split or another fraction."
        )
    begin = f"{start}" if start is not None else ""
    end = f"{stop}" if stop is not None else ""
    return f"{name}[{begin}:{cut}{unit}]", f"{name}[{cut}{unit}:{end}]"
