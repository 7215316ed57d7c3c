"""A recurrent cell as a user writes it, shared by the benchmarks that compare it with tr.nn.LSTM
(bench/compiled_cells.py --others, bench/others_ratio.py, bench/step_opcodes.py). Importing it imports
tinygrad_rnn (and numpy): a script that sets thread counts in the environment does so before."""
import numpy as np

import tinygrad_rnn as tr


class UserLSTMCell(tr.nn.RecurrentCell):
    """The LSTM as a user would write it from the textbook: plain Tensor code, no project_input/recurrence
    split (issue 12: within 1.05x of tr.nn.LSTM). Gate order i, f, g, o as torch's."""

    state_sizes = None

    def __init__(self, input_size, hidden_size, dtype=np.float32):
        self.input_size, self.hidden_size, self.state_sizes = input_size, hidden_size, (hidden_size, hidden_size)
        k = 1.0 / np.sqrt(hidden_size)
        init = lambda *shape: tr.nn.Parameter(tr.random.generator().uniform(-k, k, shape).astype(dtype))  # noqa: E731
        self.W, self.U = init(4 * hidden_size, input_size), init(4 * hidden_size, hidden_size)
        self.b = init(4 * hidden_size)

    def forward(self, x, state):
        h, c = state
        i, f, g, o = (x @ self.W.T + h @ self.U.T + self.b).chunk(4, dim=-1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        return o.sigmoid() * c.tanh(), c
