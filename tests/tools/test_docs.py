"""The documentation cannot drift from the code: every Python block of every page runs here.

What is checked, for docs/**/*.md, README.md, examples/README.md, CONTRIBUTING.md and CHANGELOG.md:
  * every ```python block runs and prints something. A block runs in a fresh namespace, so it
    carries its own imports, unless it names a markdown-exec `session="..."`: the blocks of one
    session on one page run in order, in one namespace (as `make docs` runs them). A block preceded
    by `<!-- docs-test: skip (why) -->` is not run here; the reason must be given.
  * every repository path a page names (`tinygrad_rnn/...`, `examples/...`, a relative link, a
    snippet include) exists, and nothing points outside the repository (to the team's notes folder
    beside the clone: whatever users read lives here);
  * every page is in mkdocs.yml's nav, and every nav entry exists.

`make docs` builds the same pages with `mkdocs build --strict`, running the `exec="on"` blocks
again to put their output on the page: the numbers a page shows are computed, never typed.
"""
import contextlib
import io
import os
import re
import subprocess
import sys

import pytest
from conftest import REPO as ROOT

DOCS = os.path.join(ROOT, "docs")



def _pages():
    pages = []
    for base, _, files in os.walk(DOCS):
        pages += [os.path.relpath(os.path.join(base, f), ROOT) for f in files if f.endswith(".md")]
    return sorted(pages) + ["README.md", "examples/README.md", "CONTRIBUTING.md", "CHANGELOG.md"]


PAGES = _pages()

FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)(?P<opts>[^\n]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
                   re.S | re.M)
SKIP = re.compile(r"<!--\s*docs-test:\s*skip\s*\((?P<why>[^)]+)\)\s*-->\s*$")


def _blocks(page):
    """(line, options, code, skip reason) of each ```python block of a page."""
    text = open(os.path.join(ROOT, page), encoding="utf-8").read()
    out = []
    for m in FENCE.finditer(text):
        if m.group("lang") not in ("python", "py"):
            continue
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = SKIP.search(before)
        code = "\n".join(line[len(m.group("indent")):] for line in m.group("body").split("\n"))
        out.append((text[:m.start()].count("\n") + 1, m.group("opts"), code, skip.group("why") if skip else None))
    return out


def _session(opts):
    m = re.search(r'session="([^"]+)"', opts)
    return m.group(1) if m else None


BLOCKS = [(page, line, opts, code, why) for page in PAGES for line, opts, code, why in _blocks(page)]


@pytest.fixture(scope="module")
def sessions():
    return {}


@pytest.mark.parametrize("page,line,opts,code,why", BLOCKS, ids=[f"{p}:{ln}" for p, ln, *_ in BLOCKS])
def test_code_block_runs_and_prints(page, line, opts, code, why, sessions, tmp_path, monkeypatch):
    if why is not None:
        assert len(why.strip()) > 10, f"{page}:{line}: a skipped block must say why"
        pytest.skip(f"{page}:{line}: {why}")
    if "matplotlib" in code:
        pytest.importorskip("matplotlib")
    name = _session(opts)
    if name is None:
        namespace = {"__name__": "__docs__"}
    else:  # the blocks of a session run in page order: this relies on parametrize keeping that order
        namespace = sessions.setdefault((page, name), {"__name__": "__docs__"})
    monkeypatch.chdir(tmp_path)  # a block that writes files writes them here
    monkeypatch.syspath_prepend(ROOT)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"{page}:{line}", "exec"), namespace)
    assert out.getvalue().strip(), f"{page}:{line}: a block must print what it shows"


def test_every_page_has_python_blocks_only_in_known_languages():
    """A typo in a fence's language (```pyhton) would silently stop a block from being tested."""
    known = {"", "python", "py", "text", "bash", "sh", "console", "toml", "yaml", "dot", "diff", "make", "ini"}
    for page in PAGES:
        text = open(os.path.join(ROOT, page), encoding="utf-8").read()
        for m in FENCE.finditer(text):
            assert m.group("lang") in known, f"{page}: unknown code block language {m.group('lang')!r}"


# ----------------------------------------------------------------------------- references
PATH_IN_CODE = re.compile(r"`((?:tinygrad_rnn|examples|bench|tests|docs|\.ci)/[\w./-]*|"
                          r"(?:Makefile|pyproject\.toml|LICENSE|CHANGELOG\.md|CONTRIBUTING\.md|README\.md))`")
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")
SNIPPET = re.compile(r'--8<--\s+"([^"]+)"')


def _references(page):
    """(kind, target as a path from the repository root) of every file a page names."""
    text = open(os.path.join(ROOT, page), encoding="utf-8").read()
    here = os.path.dirname(page)
    refs = [("path", m.group(1).split(":")[0].rstrip(".")) for m in PATH_IN_CODE.finditer(text)]
    refs += [("snippet", m.group(1)) for m in SNIPPET.finditer(text)]
    for m in LINK.finditer(text):
        target = m.group(1)
        if re.match(r"^[a-z]+:", target):  # http:, mailto: ...
            continue
        refs.append(("link", os.path.normpath(os.path.join(here, target))))
    return refs


# The team's notes folder beside the clone, spelled in parts so that this guard is not itself a reference.
_OUTSIDE = ("../" + "shared", "shared/" + "CELLS")


def _points_outside(text):
    return any(ref in text for ref in _OUTSIDE)


@pytest.mark.parametrize("page", PAGES)
def test_page_references_exist_in_the_repository(page):
    text = open(os.path.join(ROOT, page), encoding="utf-8").read()
    assert not _points_outside(text), f"{page} points outside the repository"
    for kind, target in _references(page):
        if "*" in target or target.endswith("/"):  # a pattern or a folder named in prose
            target = target.split("*")[0].rstrip("/") or "."
        assert not target.startswith(".."), f"{page}: {kind} {target!r} leaves the repository"
        assert os.path.exists(os.path.join(ROOT, target)), f"{page}: {kind} {target!r} does not exist"


def test_nothing_in_the_repository_points_to_shared():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    if not files:
        pytest.skip("not a git checkout")
    bad = []
    for f in files:
        path = os.path.join(ROOT, f)
        if f == "tests/tools/test_docs.py" or not os.path.isfile(path):
            continue
        try:
            text = open(path, encoding="utf-8").read()
        except UnicodeDecodeError:
            continue
        if _points_outside(text):
            bad.append(f)
    assert not bad, f"these files point outside the repository: {bad}"


# ----------------------------------------------------------------------------- the site's nav
def _nav_files():
    text = open(os.path.join(ROOT, "mkdocs.yml"), encoding="utf-8").read()
    nav = text.split("\nnav:\n", 1)[1].split("\n\n", 1)[0]
    return re.findall(r":\s*([\w./-]+\.md)\s*$", nav, re.M)


def test_every_page_is_in_the_nav_and_every_nav_entry_exists():
    nav = _nav_files()
    pages = {os.path.relpath(p, "docs") for p in PAGES if p.startswith("docs/")}
    assert pages - set(nav) == set(), "pages missing from mkdocs.yml's nav"
    missing = {n for n in nav if not os.path.exists(os.path.join(DOCS, n))}
    assert not missing, f"nav entries without a page: {missing}"


def test_code_blocks_parse_on_the_python_the_project_supports():
    """Each block compiles (a syntax error in a skipped block would otherwise go unseen)."""
    for page, line, _, code, _ in BLOCKS:
        compile(code, f"{page}:{line}", "exec")
    assert BLOCKS, "no Python blocks found: the parser is broken"
    assert sys.version_info >= (3, 9)


# ----------------------------------------------------------------------------- generated parts
def test_readme_benchmark_headline_is_generated_from_results_json():
    """The README quotes the benchmark only through docs/gen/readme_benchmark.py, from bench/results.json."""
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("readme_benchmark", os.path.join(DOCS, "gen", "readme_benchmark.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    with open(os.path.join(ROOT, "bench", "results.json")) as f:
        data = json.load(f)
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    assert gen.section(readme) == gen.render(data), \
        "README.md's benchmark headline is stale: run python docs/gen/readme_benchmark.py"
    rows = [line for line in gen.render(data).splitlines() if line.startswith("| ") and "threads" not in line]
    counts = sorted({case["threads"] for case in data["cases"]})
    for threads in counts:   # every number names its thread count: one row per cell and count
        assert sum(line.split("|")[2].strip() == str(threads) for line in rows) == 3, (threads, rows)
        assert f"at {threads} thread" in gen.render(data)


def test_the_generated_blocks_name_the_commands_that_docs_gen_bench_run_runs():
    """docs/gen/bench_run.py runs the commands whose outputs it writes into bench/RESULTS-generated.md and
    docs/memory.md: each of those pages names the same command (its flags; a second thread count may be
    named as "(and `--threads 2`)"), and every script it runs exists."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_run", os.path.join(DOCS, "gen", "bench_run.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    commands = dict(gen.COMMANDS)
    for name, command in gen.COMMANDS:
        script = next(arg for arg in command if arg.endswith(".py") or arg == "bench")
        assert os.path.exists(os.path.join(ROOT, script)), (name, script)
    pages = {"bench/RESULTS-generated.md": gen.GENERATED_BLOCKS,
             "docs/memory.md": ["mem_step", "mem_step2", "mem_long"]}
    for page, names in pages.items():
        text = open(os.path.join(ROOT, page), encoding="utf-8").read()
        for name in names:
            command = commands[name]
            said = "python " + " ".join(command[command.index(gen.PY) + 1:])
            if "--threads 2" in said:
                said = said.replace("--threads 2", "--threads 1")
            assert said in text, f"{page} does not name `{said}`, the command docs/gen/bench_run.py runs for {name}"
