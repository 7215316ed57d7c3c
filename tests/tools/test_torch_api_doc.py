"""docs/torch_api.md (and the README's excerpt of its table) is true: every tinygrad_rnn name in its tables
exists (on tr or on a Tensor), and so does the torch name beside it (checked where torch is installed)."""
import os
import re

import pytest
from conftest import REPO

import tinygrad_rnn as tr

DOC = os.path.join(REPO, "docs", "torch_api.md")
OPERATORS = {"+=": "__iadd__", "-=": "__isub__", "*=": "__imul__", "/=": "__itruediv__",
             "==": "__eq__", "!=": "__ne__", "<=": "__le__", ">=": "__ge__", "<": "__lt__", ">": "__gt__",
             "**": "__pow__", "+": "__add__", "-": "__sub__", "*": "__mul__", "/": "__truediv__", "@": "__matmul__",
             "&": "__and__", "|": "__or__", "^": "__xor__", "~": "__invert__", "[": "__getitem__", "bool(": "__bool__"}


def table_rows():
    """The rows of docs/torch_api.md's tables and of the README's excerpt of them."""
    for path in (DOC, os.path.join(REPO, "README.md")):
        yield from _rows(path)


def _rows(path):
    with open(path) as f:
        for line in f:
            if line.startswith("| `"):
                cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
                assert len(cells) == 3, f"a row needs three columns (torch, tinygrad_rnn, difference): {line}"
                yield cells


def names(cell, lib_prefix):
    """(namespace, name) pairs the code spans of a cell use: lib.name, x.name / y.name, and operators."""
    found = []
    for span in re.findall(r"`([^`]*)`", cell):
        found += [("lib", n) for n in re.findall(rf"\b{lib_prefix}\.(\w+)", span)]
        found += [("tensor", n) for n in re.findall(r"\b[xy]\.(\w+)", span)]
        stripped = re.sub(r"\w+\.\w+\([^)]*\)|\"[^\"]*\"", "", span)  # calls and strings hold no operators
        for symbol, dunder in sorted(OPERATORS.items(), key=lambda kv: -len(kv[0])):
            if symbol in stripped:
                found.append(("tensor", dunder))
                stripped = stripped.replace(symbol, " ")
    return found


ROWS = list(table_rows())


def test_the_doc_has_its_tables():
    assert len(ROWS) > 50


@pytest.mark.parametrize("torch_cell, ours, difference", ROWS, ids=[r[0][:40] for r in ROWS])
def test_each_tinygrad_rnn_name_exists(torch_cell, ours, difference):
    used = names(ours, "tr")
    assert used, f"no name found in {ours!r}"
    t = tr.Tensor([1.0])
    for space, name in used:
        owner = tr if space == "lib" else t
        assert hasattr(owner, name), f"{'tr' if space == 'lib' else 'Tensor'}.{name} is in the table but does not exist"
        if space == "tensor" and name.startswith("__"):   # (object has ==, <...: the Tensor's own, or its base's)
            assert any(name in vars(cls) for cls in tr.Tensor.__mro__ if cls is not object), \
                f"Tensor does not define {name} itself"
        if space == "lib":
            assert name in tr.__all__, f"tr.{name} is not in tinygrad_rnn.__all__"


@pytest.mark.parametrize("torch_cell, ours, difference", ROWS, ids=[r[0][:40] for r in ROWS])
def test_each_torch_name_exists(torch_cell, ours, difference):
    torch = pytest.importorskip("torch")
    t = torch.tensor([1.0])
    for space, name in names(torch_cell, "torch"):
        assert hasattr(torch if space == "lib" else t, name), f"torch has no {name}"


def test_what_the_doc_says_is_missing_is_missing():
    with open(DOC) as f:
        text = f.read()
    section = text[text.index("## Not here"):text.index("\n## ", text.index("## Not here") + 1)]
    missing = [m.group(1) for m in re.finditer(r"`(\w+)(?:\(\))?`", section)]
    assert len(missing) >= 10
    for name in missing:
        assert not hasattr(tr.Tensor, name), f"the doc says Tensor.{name} is missing, but it exists: update the table"
