"""Benchmark of one RNN training step (forward over the sequence + backward to every weight).

`python -m bench --help` for the options; bench/README.md for the method.
"""
