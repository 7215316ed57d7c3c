"""bench/kernel_source_ab.py --layout-control: the never-taken branch it puts at the top of a generated
function may only read that function's own arguments (it once read b1, which grads and project lack, and
Numba stopped on a NameError)."""
import ast

import numpy as np
import pytest

import tinygrad_rnn as tr
from bench.kernel_source_ab import shifted


def _function(tree, name):
    return next(node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == name)


@pytest.mark.parametrize("make", [lambda: tr.nn.RNN(3, 4, dtype=np.float32), lambda: tr.nn.LSTM(3, 4)])
@pytest.mark.parametrize("function", ["project", "forward", "backward", "grads"])
def test_layout_control_branch_reads_only_the_functions_arguments(make, function):
    source = make().kernel_source()
    fn = _function(ast.parse(shifted(source, function)), function)
    branch = fn.body[0]
    assert isinstance(branch, ast.If)  # the inserted branch comes first, the function's own body after it
    read = {node.id for node in ast.walk(branch) if isinstance(node, ast.Name)} - {"ValueError"}
    assert read and read <= {a.arg for a in fn.args.args}
    assert ast.dump(fn.body[1]) == ast.dump(_function(ast.parse(source), function).body[0])
