"""The API reference (docs/api) covers every public name of the package.

The site is built by `mkdocs build --strict` (CI runs it separately); these
tests check, without building it, that each public module, function, class
and constant of `keras_switcher` is rendered by a `::: path` directive of
docs/api (named itself, or as a member of its module's directive) and that
functions, classes and modules have docstrings. They read the package as
mkdocstrings does: statically, with Griffe and the docs' own Griffe
extension (docs/griffe_keras.py), so nothing is imported and no backend is
needed.

A public name is one whose dotted path has no part starting with `_`; in
a module with `__all__`, only the names it lists. Constants are the
upper-case module attributes.
"""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
API_DOCS = ROOT / "docs" / "api"
EXTENSION = ROOT / "docs" / "griffe_keras.py"

griffe = pytest.importorskip(
    "griffe", reason="Griffe is not installed: it comes with the docs tools (mkdocstrings-python)"
)
yaml = pytest.importorskip("yaml", reason="PyYAML is not installed: it comes with the docs tools (mkdocs)")

_DIRECTIVE = re.compile(r"^::: (?P<path>[\w.]+)\s*$")
_KINDS = ("function", "class")


@pytest.fixture(scope="module")
def package():
    if not API_DOCS.is_dir() or not EXTENSION.is_file():
        pytest.skip(f"No API reference to check: {API_DOCS} or {EXTENSION} is missing")
    extensions = griffe.load_extensions(f"{EXTENSION}:KerasDocstrings")
    return griffe.load(
        "keras_switcher", search_paths=[str(ROOT)], extensions=extensions, try_relative_path=False
    )


@pytest.fixture(scope="module")
def directives():
    return read_directives(API_DOCS)


def read_directives(folder):
    """`(path, options, "file:line")` of every `:::` directive under `folder`."""
    found = []
    for page in sorted(folder.rglob("*.md")):
        lines = page.read_text().splitlines()
        for number, line in enumerate(lines):
            match = _DIRECTIVE.match(line)
            if not match:
                continue
            block = []
            for following in lines[number + 1 :]:
                if following.strip() and not following.startswith(" "):
                    break
                block.append(following)
            config = yaml.safe_load("\n".join(block)) or {}
            options = config.get("options") or {}
            found.append((match["path"], options, f"{page.relative_to(ROOT)}:{number + 1}"))
    return found


def _get(package, path):
    if path == package.path:
        return package
    return package[path[len(package.path) + 1 :]]


def _public_path(path):
    return not any(part.startswith("_") for part in path.split("."))


def public_modules(module):
    """The package's public modules, the package itself included."""
    if not _public_path(module.path):
        return []
    found = [module]
    for member in module.members.values():
        if not member.is_alias and member.is_module:
            found += public_modules(member)
    return found


def _is_constant(name, member):
    return member.is_attribute and name.isupper()


def public_objects(module):
    """The public functions, classes and constants a module defines."""
    exports = set(module.exports) if module.exports is not None else None
    objects = []
    for name, member in module.members.items():
        if name.startswith("_") or member.is_alias:
            continue
        if exports is not None and name not in exports:
            continue
        if member.kind.value in _KINDS or _is_constant(name, member):
            objects.append(member)
    return objects


def alias_paths(modules):
    """`{canonical path: [paths of public re-exports]}` within the package."""
    aliases = {}
    for module in modules:
        for name, member in module.members.items():
            if name.startswith("_") or not member.is_alias:
                continue
            if not member.target_path.startswith("keras_switcher"):
                continue
            try:
                target = member.final_target
            except griffe.AliasResolutionError:
                continue
            aliases.setdefault(target.path, []).append(member.path)
    return aliases


def rendered_paths(package, directives):
    """The paths that the directives render, as mkdocstrings selects them.

    A directive renders its object; a module's directive also renders the
    members listed in its `members` option, none with `members: false`,
    else those in `__all__` or, without one, the public members it defines
    that have a docstring (`show_if_no_docstring` adds the others).
    """
    rendered = set()
    for path, options, where in directives:
        try:
            obj = _get(package, path)
        except KeyError:
            raise AssertionError(f"{where}: `::: {path}` names nothing in keras_switcher") from None
        rendered.add(path)
        members = options.get("members")
        if isinstance(members, list):
            for name in members:
                if name not in obj.members:
                    raise AssertionError(f"{where}: `::: {path}` lists {name!r}, which it does not have")
                rendered.add(f"{path}.{name}")
        elif members is not False and obj.is_module:
            if obj.exports is not None:
                rendered.update(f"{path}.{name}" for name in obj.exports)
                continue
            every = options.get("show_if_no_docstring", False)
            for name, member in obj.members.items():
                if name.startswith("_") or member.is_alias or member.is_module:
                    continue
                if member.docstring is not None or every:
                    rendered.add(f"{path}.{name}")
    return rendered


def undocumented(package, directives):
    """Public modules and objects that no directive renders."""
    modules = public_modules(package)
    rendered = rendered_paths(package, directives)
    aliases = alias_paths(modules)
    targets = {path for path, _, _ in directives}
    missing = [module.path for module in modules if module.path not in targets]
    for module in modules:
        for obj in public_objects(module):
            paths = [obj.path] + aliases.get(obj.path, [])
            if not any(path in rendered for path in paths):
                missing.append(obj.path)
    return missing


def test_every_public_name_is_in_the_api_reference(package, directives):
    missing = undocumented(package, directives)
    assert not missing, (
        "These public names appear in no `:::` directive of docs/api (add "
        "them to a page, or to the `members` list of their module's "
        f"directive): {missing}"
    )


def test_public_functions_classes_and_modules_have_docstrings(package):
    bare = []
    for module in public_modules(package):
        if module.docstring is None or not module.docstring.value.strip():
            bare.append(module.path)
        for obj in public_objects(module):
            if obj.kind.value in _KINDS and (obj.docstring is None or not obj.docstring.value.strip()):
                bare.append(obj.path)
    assert not bare, f"These public names have no docstring: {bare}"


def test_examples_render_as_code(package):
    """No `>>>` line is left in prose, where Markdown would quote it."""
    stray = []

    def visit(obj):
        if obj.docstring is not None:
            sections = obj.docstring.parse(
                "google", warn_missing_types=False, returns_named_value=False, warnings=False
            )
            for section in sections:
                if section.kind.value == "text" and re.search(r"^\s*>>>", section.value, re.M):
                    stray.append(obj.path)
        for name, member in obj.members.items():
            if not name.startswith("_") and not member.is_alias:
                visit(member)

    for module in public_modules(package):
        visit(module)
    assert not stray, (
        "These docstrings have `>>>` lines outside an `Example:` section, "
        f"which the site would show as quoted text: {sorted(set(stray))}"
    )


def test_the_check_fails_for_a_name_left_out(package, directives):
    """Without the directive of `keras_switcher.saving`, its names are missing."""
    kept = [directive for directive in directives if directive[0] != "keras_switcher.saving"]
    missing = undocumented(package, kept)
    assert "keras_switcher.saving" in missing
    assert "keras_switcher.saving.save_model" in missing
    # And a module directive limited to some members leaves the others out.
    limited = [
        (path, {"members": ["SparsityPlan"]} if path == "keras_switcher.sparsity.plan" else options, where)
        for path, options, where in directives
    ]
    assert "keras_switcher.sparsity.plan.share_by_threshold" in undocumented(package, limited)
