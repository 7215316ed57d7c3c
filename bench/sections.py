"""A part of RESULTS.md that another script writes: `python -m bench` rewrites the file and keeps it.

bench/distributed.py measures data-parallel scaling (it needs mpiexec and minutes of its own), so its
table lives between these markers, and bench/report.py carries the part over when it re-renders.
"""
SECTION_START = "<!-- data-parallel scaling: written by bench/distributed.py, kept by python -m bench -->"
SECTION_END = "<!-- end of data-parallel scaling -->"


def split_section(text):
    """(text without the marked part, the marked part with its markers or '')."""
    start = text.find(SECTION_START)
    end = text.find(SECTION_END)
    if start < 0 or end < start:
        return text, ""
    end += len(SECTION_END)
    return text[:start].rstrip("\n") + "\n" + text[end:].lstrip("\n"), text[start:end]
