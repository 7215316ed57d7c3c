"""`make demo`: train the character language model of examples/char_lm.py for two minutes on the
Python documentation that ships with the standard library, then sample from it.

Watch the loss fall (perplexity from ~100, a uniform guess, to under 10) and the sample turn from
noise into words, spaces and punctuation. The checkpoint it saves continues with
`python examples/char_lm.py --resume`. Every option: `python examples/char_lm.py --help`.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import char_lm  # noqa: E402


def main(argv=None):
    return char_lm.main(argv)


if __name__ == "__main__":
    main()
