"""README truth: every command, Python block and model block of README.md runs as written in a fresh
copy of the repository (``git ls-files``: tracked and new files, nothing generated) whose ``.venv``
is this interpreter's virtual environment, importing that copy's bridge (``PYTHONPATH``).

What each README item gets, in README order (later items may use files earlier ones wrote):

* a command (a line of a ``bash`` block, ``&&`` chains split, or an inline code span starting with
  ``.venv/bin/`` or ``python``) runs and must exit 0, or N when the line ends with ``# exit N``;
  except
  - the set-up (``python3.11 -m venv`` and ``pip install``): the same lines must be in ``.ci/run``,
    this interpreter must satisfy ``requires-python`` and the extra must exist (installing the
    simulators from PyPI is not repeated here);
  - ``.venv/bin/python -m pytest`` (this suite): collected (``--collect-only``) without error;
  - a benchmark that runs for minutes (:data:`LONG_BENCHMARKS`): ``--help`` must work and list
    every option the command uses;
  - a command with a bare ``python``, which a fresh clone does not have with bridge installed: fails;
* a ``yaml`` block that is a model (``populations`` or ``network``) is written to the copy and
  ``bridge compare`` on it (all backends) must agree (exit 0); a block whose first line is
  ``# merged into FILE`` is merged into that model file and must validate, tolerances included;
  a block whose first line is ``# file: PATH`` is written to PATH in the copy for the commands after
  it (e.g. a type file); any other block fails (so every block is checked);
* a ``python`` block runs as a script in the copy, then every ``test_*`` function it defines;
* a command synopsis in a table (`` `bridge compare MODEL [--backends LIST] ...` ``): every option in
  it must be in that command's ``--help``.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: benchmark scripts that run for minutes: checked with --help (the README states their duration)
LONG_BENCHMARKS = {"benchmarks/cold_warm.py", "benchmarks/overhead.py", "benchmarks/scaling.py",
                   "benchmarks/harness.py", "benchmarks/spine.py", "benchmarks/spine_window.py", "benchmarks/mpi.py"}
SETUP = ("python3.11 -m venv .venv", ".venv/bin/python -m pip install -e")
TIMEOUT_S = 900


@dataclass(frozen=True)
class Item:
    """One README item: ``kind`` is command, synopsis, yaml or python; ``line`` its README line."""

    kind: str
    text: str
    line: int

    @property
    def id(self) -> str:
        first = self.text.strip().splitlines()[0] if self.text.strip() else ""
        return f"L{self.line}-{self.kind}-{first[:40]}"


def readme_items(text: str) -> list[Item]:
    """Every command, synopsis and code block of ``text`` (Markdown), in order."""
    items: list[Item] = []
    fence = re.compile(r"^```(\w*)\n(.*?)^```\s*$", re.S | re.M)
    position = 0
    for match in fence.finditer(text):
        items += _inline_items(text[position:match.start()], text.count("\n", 0, position) + 1)
        language, body = match.group(1), match.group(2)
        line = text.count("\n", 0, match.start()) + 2
        if language == "bash":
            items += [Item("command", command, line + offset) for offset, command in commands(body)]
        elif language in ("yaml", "python"):
            items.append(Item(language, body, line))
        elif language:  # a block without a language is text (a directory tree), not code
            items.append(Item("unknown", f"```{language} block", line))
        position = match.end()
    items += _inline_items(text[position:], text.count("\n", 0, position) + 1)
    return items


def _inline_items(text: str, first_line: int) -> list[Item]:
    items = []
    for match in re.finditer(r"`([^`\n]+)`", text):
        span, line = match.group(1).replace("\\|", "|"), first_line + text.count("\n", 0, match.start())
        if span.startswith((".venv/bin/", "python")):
            items.append(Item("command", span, line))
        elif re.match(r"bridge [a-z-]+ ", span) and "--" in span:
            items.append(Item("synopsis", span, line))
    return items


def commands(script: str) -> list[tuple[int, str]]:
    """The commands of a shell snippet with their line offsets: continuation lines joined, ``&&``
    chains split, blank and comment lines dropped (a trailing ``# exit N`` stays)."""
    out, offset, pending = [], 0, ""
    for number, line in enumerate(script.splitlines()):
        if not pending:
            offset = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        line, pending = (pending + line).strip(), ""
        if line and not line.startswith("#"):
            out += [(offset, part.strip()) for part in line.split("&&")]
    return out


ITEMS = readme_items(README.read_text(encoding="utf-8"))


def test_the_readme_parser_finds_every_kind_of_item():
    """The checks below can fail: a README with each kind of item yields each, with its exit code."""
    sample = ("Run `.venv/bin/bridge info` or `python x.py`; see `bridge run MODEL [--dt MS]`.\n\n"
              "```bash\n.venv/bin/bridge validate a.yaml && .venv/bin/bridge compare a.yaml  # exit 5\n```\n\n"
              "```yaml\nname: a\n```\n\n```python\nprint(1)\n```\n")
    kinds = [(i.kind, i.text) for i in readme_items(sample + "```\nbridge/  a tree\n```\n")]
    assert kinds == [("command", ".venv/bin/bridge info"), ("command", "python x.py"),
                     ("synopsis", "bridge run MODEL [--dt MS]"),
                     ("command", ".venv/bin/bridge validate a.yaml"),
                     ("command", ".venv/bin/bridge compare a.yaml  # exit 5"),
                     ("yaml", "name: a\n"), ("python", "print(1)\n")]
    assert expected_exit(".venv/bin/bridge compare a.yaml  # exit 5") == 5
    assert len(ITEMS) > 20 and {i.kind for i in ITEMS} >= {"command", "synopsis", "yaml", "python"}


def expected_exit(command: str) -> int:
    match = re.search(r"#\s*exit\s+(\d+)\s*$", command)
    return int(match.group(1)) if match else 0


# ------------------------------------------------------------------ the fresh copy
@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A copy of the repository's files (what a clone has) with a .venv/bin standing for this
    interpreter; the copy's bridge is the one imported (PYTHONPATH)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    target = tmp_path_factory.mktemp("clone")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    if sys.prefix != sys.base_prefix:  # this interpreter's virtual environment is the clone's .venv
        (target / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    else:
        bin_dir = target / ".venv" / "bin"
        bin_dir.mkdir(parents=True)
        for name, tail in (("python", '"$@"'), ("bridge", '-m bridge.cli "$@"')):
            (bin_dir / name).write_text(f'#!/bin/sh\nexec "{sys.executable}" {tail}\n')
            (bin_dir / name).chmod(0o755)
    return target


def run(command: str, cwd: Path, timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd), "MPLBACKEND": "Agg"}
    return subprocess.run(command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _report(done: subprocess.CompletedProcess) -> str:
    return f"exit {done.returncode}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"


# ------------------------------------------------------------------ the items
@pytest.mark.parametrize("item", ITEMS, ids=[i.id for i in ITEMS])
def test_readme_item_runs_as_written(item: Item, clone: Path):
    {"command": check_command, "synopsis": check_synopsis, "yaml": check_yaml_block,
     "python": check_python_block}.get(item.kind, _unknown)(item, clone)


def _unknown(item: Item, clone: Path) -> None:
    pytest.fail(f"README line {item.line}: {item.text} is not checked by tests/test_readme.py "
                "(use a bash, yaml or python block)")


def check_command(item: Item, clone: Path) -> None:
    command = item.text
    words = shlex.split(command, comments=True)
    if command.startswith(SETUP):
        return check_setup(command)
    if words[0].startswith("python"):
        pytest.fail(f"README line {item.line}: {command!r} uses a bare python: only .venv/bin/python has bridge")
    if words[:3] == [".venv/bin/python", "-m", "pytest"]:
        done = run(".venv/bin/python -m pytest --collect-only -q", clone)
        assert done.returncode == 0 and "tests collected" in done.stdout, _report(done)
        return
    if len(words) > 1 and words[0] == ".venv/bin/python" and words[1] in LONG_BENCHMARKS:
        return check_benchmark_help(words, clone)
    if words[0] not in (".venv/bin/bridge", ".venv/bin/python"):
        pytest.fail(f"README line {item.line}: {command!r} is not a command tests/test_readme.py knows how to run")
    done = run(command, clone)
    assert done.returncode == expected_exit(command), _report(done)
    assert "Traceback" not in done.stderr, _report(done)


def check_setup(command: str) -> None:
    """The README's set-up lines are .ci/run's, and this environment is what they produce."""
    assert command in (ROOT / ".ci" / "run").read_text(encoding="utf-8") or any(
        command in line for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines())
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["requires-python"] == ">=3.11,<3.12" and sys.version_info[:2] == (3, 11)
    extra = re.search(r'"\.\[(\w+)\]"', command)
    if extra:
        assert extra.group(1) in project["optional-dependencies"]


def check_benchmark_help(words: list[str], clone: Path) -> None:
    done = run(f".venv/bin/python {words[1]} --help", clone, timeout=120)
    assert done.returncode == 0, _report(done)
    for option in (w.split("=")[0] for w in words[2:] if w.startswith("--")):
        assert option in done.stdout, f"{words[1]} has no option {option}"


_HELP: dict[str, str] = {}


def check_synopsis(item: Item, clone: Path) -> None:
    name = item.text.split()[1]
    if name not in _HELP:
        done = run(f".venv/bin/bridge {name} --help", clone, timeout=120)
        assert done.returncode == 0, _report(done)
        _HELP[name] = done.stdout
    for option in sorted(set(re.findall(r"--[a-z][a-z0-9-]*", item.text))):
        assert option in _HELP[name], f"README line {item.line}: bridge {name} has no option {option}"


def check_yaml_block(item: Item, clone: Path) -> None:
    first = item.text.splitlines()[0].strip()
    document = yaml.safe_load(item.text)
    assert isinstance(document, dict), f"README line {item.line}: not a mapping"
    if first.startswith("# file:"):
        path = clone / first.split(":", 1)[1].strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(item.text, encoding="utf-8")
        return
    if first.startswith("# merged into "):
        return check_fragment(document, first.removeprefix("# merged into ").strip(), clone)
    if "populations" not in document and "network" not in document:
        pytest.fail(f"README line {item.line}: a yaml block must be a model, start with '# merged into FILE' or "
                    "'# file: PATH' (see tests/test_readme.py)")
    path = clone / f"readme_{document.get('name', item.line)}.yaml"
    path.write_text(item.text, encoding="utf-8")
    done = run(f".venv/bin/bridge compare {path.name}", clone)
    assert done.returncode == 0, _report(done)


def check_fragment(fragment: dict, model_file: str, clone: Path) -> None:
    """A partial model merged into a model file must validate, every tolerance entry parsed."""
    import bridge
    from bridge.harness.tolerances import check_tolerances

    document = yaml.safe_load((clone / model_file).read_text(encoding="utf-8"))
    for key, value in fragment.items():
        document[key] = {**document.get(key, {}), **value} if isinstance(value, dict) else value
    check_tolerances(bridge.from_dict(document, model_file))


def check_python_block(item: Item, clone: Path) -> None:
    script = clone / f"readme_block_{item.line}.py"
    script.write_text(item.text + textwrap.dedent("""

        for _name, _function in list(globals().items()):
            if _name.startswith("test_") and callable(_function):
                _function()
        """), encoding="utf-8")
    done = run(f".venv/bin/python {script.name}", clone)
    assert done.returncode == 0, _report(done)
