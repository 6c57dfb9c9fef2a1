"""A Griffe extension that reads keras-switcher's docstrings the Keras way.

mkdocs.yml loads it for mkdocstrings, and `tests/test_docs.py` loads it to
see the docstrings as the site renders them. It does three things, all on
the loaded object tree (no code is imported):

- Keras writes an example unindented under its title (`Example:`, a blank
  line, then `>>>` lines); the Google style that Griffe parses wants the
  section's body indented right under the title. The body (up to the next
  section title) is indented and the blank line dropped, so it renders as
  an examples section, not as quoted text.
- A function whose docstring is assigned after its definition
  (`ResNet18.__doc__ = _DOC.format(...)`) gets that docstring, evaluated
  from the module's own string constants.
- A public module-level constant gets, as its docstring, the comment block
  right above it (`#:` or `#` lines), where the code documents constants.
"""

import ast
import inspect
import re

import griffe

_EXAMPLE_TITLE = re.compile(r"^(Example|Examples):\s*$")
# A Google or Keras section title at column 0, such as `Args:` or `Input shape:`.
_SECTION_TITLE = re.compile(r"^[A-Z][A-Za-z ]*:\s*$")


def indent_examples(text):
    """Indents the body of unindented `Example:` sections of a docstring."""
    lines = text.split("\n")
    out = []
    in_example = False
    for line in lines:
        if _EXAMPLE_TITLE.match(line):
            in_example = True
            out.append("Examples:")  # Griffe's name of the section.
            continue
        if in_example and not line and out and _EXAMPLE_TITLE.match(out[-1]):
            continue  # Griffe wants the body right under the title.
        if in_example and _SECTION_TITLE.match(line):
            in_example = False
        if in_example and line and not line.startswith(" "):
            out.append("    " + line)
        else:
            out.append(line)
    return "\n".join(out)


def _string_constants(tree):
    """Module-level `NAME = "literal"` strings of a module's syntax tree."""
    constants = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            constants[node.targets[0].id] = node.value.value
    return constants


def _assigned_docstrings(tree):
    """`{name: docstring}` for module-level `name.__doc__ = <expression>`.

    The expression may use the module's string constants, their `format`
    method and literals; anything else is skipped.
    """
    constants = _string_constants(tree)
    found = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target = node.targets[0]
        if not (
            isinstance(target, ast.Attribute)
            and target.attr == "__doc__"
            and isinstance(target.value, ast.Name)
        ):
            continue
        try:
            code = compile(ast.Expression(node.value), "<docstring>", "eval")
            value = eval(code, {"__builtins__": {}}, dict(constants))  # noqa: S307
        except Exception:  # Not a static string: leave the object as it is.
            continue
        if isinstance(value, str):
            found[target.value.id] = value
    return found


def _comment_above(module, lineno):
    """The comment block right above line `lineno` of a module, or `None`."""
    lines = module.lines
    comment = []
    index = lineno - 2
    while index >= 0 and lines[index].startswith("#"):
        comment.append(re.sub(r"^#:? ?", "", lines[index]))
        index -= 1
    if not comment:
        return None
    return "\n".join(reversed(comment)).strip() or None


def _public(path):
    return not any(part.startswith("_") for part in path.split("."))


class KerasDocstrings(griffe.Extension):
    """Fixes docstrings of the package once Griffe has loaded it."""

    def on_package(self, *, pkg, **kwargs):
        self._fix_module(pkg)

    def _fix_module(self, module):
        if module.docstring is not None:
            module.docstring.value = indent_examples(module.docstring.value)
        source = "\n".join(module.lines)
        try:
            tree = ast.parse(source)
        except SyntaxError:
            tree = None
        if tree is not None:
            for name, text in _assigned_docstrings(tree).items():
                member = module.members.get(name)
                if member is not None and not member.is_alias and member.docstring is None:
                    member.docstring = griffe.Docstring(
                        inspect.cleandoc(text), parent=member
                    )
        for name, member in list(module.members.items()):
            if member.is_alias:
                continue
            if (
                member.is_attribute
                and member.docstring is None
                and not name.startswith("_")
                and _public(module.path)
                and member.lineno is not None
            ):
                comment = _comment_above(module, member.lineno)
                if comment:
                    member.docstring = griffe.Docstring(comment, parent=member)
            self._fix_object(member)

    def _fix_object(self, obj):
        if obj.is_module:
            self._fix_module(obj)
            return
        if obj.docstring is not None:
            obj.docstring.value = indent_examples(obj.docstring.value)
        for member in obj.members.values():
            if not member.is_alias:
                self._fix_object(member)
