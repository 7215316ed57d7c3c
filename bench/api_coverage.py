"""Which of torch's public names exist here: torch.Tensor's methods, torch.nn's and torch.nn.functional's names.

A tool for finding what to add next, not a test. Needs torch installed (the reference, never a dependency).

    python bench/api_coverage.py            # counts per namespace
    python bench/api_coverage.py --list     # one line per name: "here" or "missing", namespace, name
    python bench/api_coverage.py --list --missing   # the missing names only
"""
import argparse

import torch

import tinygrad_rnn as tr


def _public(obj):
    return sorted(n for n in dir(obj) if not n.startswith("_"))


NAMESPACES = {
    "Tensor": (torch.Tensor, tr.Tensor),
    "torch": (torch, tr),
    "nn": (torch.nn, tr.nn),
    "nn.functional": (torch.nn.functional, tr.nn.functional),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="one line per name")
    parser.add_argument("--missing", action="store_true", help="with --list: the missing names only")
    args = parser.parse_args()
    for label, (theirs, ours) in NAMESPACES.items():
        names = _public(theirs)
        here = [n for n in names if hasattr(ours, n)]
        if args.list:
            for n in names:
                present = n in here
                if not (args.missing and present):
                    print(f"{'here' if present else 'missing':8s}{label:15s}{n}")
        else:
            print(f"{label:15s}{len(here):5d} of {len(names):5d} here, {len(names) - len(here):5d} missing")


if __name__ == "__main__":
    main()
