"""The package layout the README describes, held to the code: module map and import direction."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "training"
# The one leaf -> stage import: the rules baseline is the labelling stage's functions, reused
# as a classifier so that it is scored like the others (issue: "the rule-based labeller from the
# dataset builder ... in the same leaderboard").
ALLOWED_BACK_EDGES = {("rules", "labeling")}


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside functions."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            if node.module == "training":
                names.update(f"training.{a.name}" for a in node.names)
    return names


def _units() -> dict[str, list[Path]]:
    """Top-level units of the package: a module, or a subpackage with all of its files."""
    units: dict[str, list[Path]] = {}
    for p in PACKAGE.iterdir():
        if p.suffix == ".py":
            units[p.stem] = [p]
        elif (p / "__init__.py").exists():
            units[p.name] = sorted(p.rglob("*.py"))
    return units


def _ours(names: set[str]) -> set[str]:
    return {n.split(".")[1] for n in names if n.startswith("training.")}


def _module_map() -> tuple[set[str], set[str]]:
    """Stage and leaf modules as the README's development section lists them."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"^training/ (.*?)^configs/", readme, re.S | re.M)
    assert block, "README has no training/ module map"
    text = re.sub(r"\([^)]*\)", lambda m: m.group(0) if "+" in m.group(0) else "", " ".join(block.group(1).split()))
    stages_text, leaves_text = text.split("stage modules:")[1].split("-> leaf modules:")
    words = lambda s: set(re.findall(r"[a-z_]+", s))  # noqa: E731
    return words(stages_text), words(leaves_text)


def test_the_readme_module_map_names_every_module_once() -> None:
    stages, leaves = _module_map()
    files = set(_units()) - {"__init__", "__main__", "cli"}
    assert not stages & leaves
    assert stages | leaves == files


def test_imports_point_from_the_cli_to_stages_to_leaves() -> None:
    stages, leaves = _module_map()
    graph = {name: set().union(*(_imports(p) for p in paths)) for name, paths in _units().items()}
    for name, imported in graph.items():
        own = f"training.{name}"
        names = {n for n in imported if n != own and not n.startswith(own + ".")}  # a subpackage's own modules
        if name != "cli":
            assert "typer" not in {n.split(".")[0] for n in names}, f"{name} imports typer"
        if name != "tracking":
            assert "mlflow" not in {n.split(".")[0] for n in names}, f"{name} imports mlflow"
        if name != "__main__":
            assert "cli" not in _ours(names), f"{name} imports the cli"
        if name in leaves:
            back = {(name, m) for m in _ours(names) & stages} - ALLOWED_BACK_EDGES
            assert not back, f"leaf module {name} imports stage modules: {sorted(m for _, m in back)}"


def test_the_checks_see_imports_inside_functions(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text("def f():\n    import mlflow.sklearn\n    from training import predict\n", encoding="utf-8")
    assert _imports(src) == {"mlflow.sklearn", "training", "training.predict"}


def test_no_module_is_longer_than_400_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text("utf-8").splitlines())) > 400
    }
    assert not long, f"modules over 400 lines: {long}"


def test_no_function_is_longer_than_60_lines() -> None:
    long = {}
    for p in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > 60:
                    long[f"{p.relative_to(ROOT)}:{node.name}"] = lines
    assert not long, f"functions over 60 lines: {long}"
