"""The `>>>` examples of the package's docstrings run, and print what they show.

Every module of `keras_switcher` is searched with `doctest.DocTestFinder`;
each docstring with examples is one test, run in a fresh temporary folder
(examples write files such as `model.keras` or `mask.png` there) on the
TensorFlow backend, with the module's own names, the package's public names
(`SwitchedDense`, `UNetSwitcher`, ..., as after `from keras_switcher import
*`), `np`, `keras`, `ks` (`keras_switcher`) and `tmp_path` in scope. Output
lines are compared with doctest's ELLIPSIS and NORMALIZE_WHITESPACE options.
A wrong output or an exception fails the test with doctest's report.
"""

import doctest
import importlib
import os
import pkgutil

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import keras_switcher  # noqa: E402

OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
# Fewer docstrings with examples than this means the search broke.
MIN_EXAMPLES = 45


def _modules():
    names = ["keras_switcher"] + sorted(
        info.name for info in pkgutil.walk_packages(keras_switcher.__path__, "keras_switcher.")
    )
    return [importlib.import_module(name) for name in names]


def _docstring_tests():
    finder = doctest.DocTestFinder(exclude_empty=True)
    found = {}
    for module in _modules():
        for test in finder.find(module):
            if test.examples:
                found.setdefault(test.name, test)
    return [found[name] for name in sorted(found)]


TESTS = _docstring_tests()
# The classes and functions of `keras_switcher` itself (`SwitchedDense`,
# `UNetSwitcher`, `switch`, ...), as after `from keras_switcher import *`.
PUBLIC_NAMES = [
    name
    for name, value in vars(keras_switcher).items()
    if not name.startswith("_") and not isinstance(value, type(keras_switcher))
]


def _run(test, tmp_path, monkeypatch):
    """Runs one docstring's examples in `tmp_path`; returns doctest's report."""
    monkeypatch.chdir(tmp_path)
    keras.utils.set_random_seed(0)
    # Fresh names each run (the runner clears them afterwards): the
    # module's own, the package's and the examples' usual imports.
    globs = dict(test.globs)
    globs.update({name: getattr(keras_switcher, name) for name in PUBLIC_NAMES})
    globs.update(np=np, keras=keras, ks=keras_switcher, keras_switcher=keras_switcher, tmp_path=tmp_path)
    test = doctest.DocTest(test.examples, globs, test.name, test.filename, test.lineno, test.docstring)
    report = []
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    try:
        result = runner.run(test, out=report.append, clear_globs=True)
    finally:
        # Fresh layer names for the next examples; no garbage collection,
        # which costs a third of a second each time with TensorFlow loaded.
        keras.backend.clear_session(free_memory=False)
    return result, "".join(report)


@pytest.fixture(autouse=True)
def _tensorflow():
    if keras.backend.backend() != "tensorflow":
        pytest.skip(f"the docstring examples run on TensorFlow; this process runs {keras.backend.backend()!r}")


def test_the_examples_are_found():
    assert len(TESTS) >= MIN_EXAMPLES, [test.name for test in TESTS]
    assert sum(len(test.examples) for test in TESTS) >= 2 * MIN_EXAMPLES


@pytest.mark.parametrize("test", TESTS, ids=[test.name for test in TESTS])
def test_docstring_example(test, tmp_path, monkeypatch):
    result, report = _run(test, tmp_path, monkeypatch)
    assert result.failed == 0, f"{test.name} ({test.filename}:{test.lineno}):\n{report}"


def test_a_wrong_example_fails(tmp_path, monkeypatch):
    """The check itself: a wrong output and an exception are both caught."""
    wrong = '''
    >>> ks.sparsity.cubic_schedule(0.0, 0.9, 0.5)
    0.5
    >>> undefined_model.fit()
    '''
    test = doctest.DocTestParser().get_doctest(wrong, {}, "wrong", "wrong.py", 0)
    result, report = _run(test, tmp_path, monkeypatch)
    assert result.failed == 2
    assert "Expected:\n    0.5\nGot:\n    0.7875" in report
    assert "NameError: name 'undefined_model' is not defined" in report
