"""RESULTS.md holds a section that bench/distributed.py writes and `python -m bench` keeps: writing it
twice replaces it, and the rest of the file is left as it was."""
import os
import sys

from conftest import REPO

sys.path.insert(0, os.path.join(REPO, "bench"))

import distributed  # noqa: E402  (bench/distributed.py)
from sections import SECTION_END, SECTION_START, split_section  # noqa: E402


def test_the_data_parallel_section_is_replaced_and_the_rest_kept(tmp_path):
    md = tmp_path / "RESULTS.md"
    md.write_text("# results\n\n| a | b |\n")
    distributed.write_section(str(md), "## Data-parallel scaling\n\nfirst\n")
    distributed.write_section(str(md), "## Data-parallel scaling\n\nsecond\n")
    text = md.read_text()
    assert text.count(SECTION_START) == 1 and text.count(SECTION_END) == 1
    rest, section = split_section(text)
    assert "second" in section and "first" not in text
    assert rest.strip() == "# results\n\n| a | b |"
