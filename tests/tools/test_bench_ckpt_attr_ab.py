"""bench/ckpt_attr_ab.py sets a module constant of the checkpointed path round by round. A constant that
another module imported by name is read there, not where it is defined: setting the defining module's
measured the same code for every value (nn.bptt_plan.SERIAL_SPAN; nn/recurrent.py reads its own
binding). The script names such bindings before it runs."""
from bench.ckpt_attr_ab import _warn_other_bindings
from tinygrad_rnn.nn import bptt_plan


def test_names_the_module_that_imported_the_constant_by_name(capsys):
    _warn_other_bindings(bptt_plan, "SERIAL_SPAN")
    assert "--attr nn.recurrent.SERIAL_SPAN" in capsys.readouterr().out


def test_silent_where_the_constant_is_read_only_where_it_is_defined(capsys):
    _warn_other_bindings(bptt_plan, "SQRT_STORED_PIECES")   # sqrt_plan reads it from bptt_plan itself
    assert capsys.readouterr().out == ""
