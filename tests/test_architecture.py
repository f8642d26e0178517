"""The layers of docs/ARCHITECTURE.md, read from the code's own imports (no module is run).

Each rule names an arrow that must not exist; a failure prints the file, the line and the import.
Imports under `if TYPE_CHECKING:` are types only and are not arrows.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PROJECT = ("contentgen", "db", "ui", "finetune", "bench", "tests")

# A function-level import of a project module is allowed only to keep a heavy runtime out of
# processes that do not use it; it carries "# lazy:" and the module is one of these.
LAZY_ALLOWED = {
    "contentgen.engine.hf_loading": "torch",
    "contentgen.engine.transformers_engine": "torch and transformers",
    "contentgen.engine.llamacpp_engine": "llama.cpp",
    "contentgen.engine.openai_engine": "httpx, only for a remote server",
    "contentgen.training.train": "torch and peft, only for a training run",
    "contentgen.evaluation.runs": "nltk, scipy and the engines, only to evaluate",
    "contentgen.api": "fastapi, only when the API is served",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                lines.update(range(inner.lineno, inner.end_lineno + 1))
    return lines


def imports(folder: str) -> list[tuple[str, int, str, bool, str]]:
    """(module, line, imported module, inside a function, source line) for every project import."""
    found = []
    for path in sorted((REPO / folder).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        typing_only = type_checking_lines(tree)
        in_function = {id(sub) for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                       for sub in ast.walk(node)}
        lines = source.splitlines()
        for node in ast.walk(tree):
            if getattr(node, "lineno", 0) in typing_only:
                continue
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for target in targets:
                if target.split(".")[0] in PROJECT:
                    found.append((module_name(path), node.lineno, target, id(node) in in_function,
                                  lines[node.lineno - 1].strip()))
    return found


def under(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


FACES = ("contentgen.cli", "contentgen.api", "ui")
# (who, what it must not import, why)
RULES = [
    (("contentgen", "db", "ui"), ("finetune", "bench", "tests"), "the product never imports scripts, benchmarks or tests"),
    (("db",), ("contentgen", "ui"), "db/ knows no model and no screen"),
    (("contentgen",), ("ui",), "the core imports no screen"),
    (FACES, ("db", "contentgen.engine"), "faces parse, call a use case and render"),
    (("contentgen.usecases",), FACES, "use cases know no face"),
    (("contentgen.tasks",), ("contentgen.usecases", *FACES, "contentgen.runtime", "contentgen.training",
                              "contentgen.evaluation"), "a task is below the use cases"),
    (("contentgen.engine",), ("contentgen.tasks", "contentgen.usecases", *FACES, "db", "contentgen.runtime"),
     "the engine knows no task, use case, face or table"),
    (("contentgen.training", "contentgen.evaluation"), FACES, "training and evaluation know no face"),
]


@pytest.mark.parametrize("owners, forbidden, why", RULES, ids=[r[2] for r in RULES])
def test_no_arrow_runs_up_a_layer(owners, forbidden, why):
    folders = {o.split(".")[0] for o in owners}
    wrong = [f"{module}:{line}: {text}" for folder in folders for module, line, target, _, text in imports(folder)
             if under(module, *owners) and under(target, *forbidden)]
    assert not wrong, f"{why}:\n" + "\n".join(sorted(set(wrong)))


def test_function_level_imports_only_keep_heavy_runtimes_out():
    wrong = []
    for folder in ("contentgen", "db", "ui"):
        for module, line, target, in_function, text in imports(folder):
            if not in_function:
                continue
            allowed = any(under(target, lazy) for lazy in LAZY_ALLOWED) and "# lazy:" in text
            if not allowed:
                wrong.append(f"{module}:{line}: {text}")
    assert not wrong, "a function-level import of a project module (move it to the top, or break the cycle):\n" + \
        "\n".join(sorted(set(wrong)))


def test_no_import_cycle_between_project_modules():
    graph: dict[str, set[str]] = {}
    for folder in ("contentgen", "db", "ui"):
        for module, _, target, in_function, _ in imports(folder):
            if not in_function:
                graph.setdefault(module, set()).add(target)
    known = set(graph) | {t for ts in graph.values() for t in ts}

    def resolve(target: str) -> str | None:  # "pkg.mod.name" -> the module it names
        while target and target not in graph:
            target = target.rpartition(".")[0]
        return target or None

    edges = {m: {r for t in ts if (r := resolve(t)) and r != m and not under(m, r)} for m, ts in graph.items()}
    seen, stack, cycles = set(), [], []

    def visit(node: str) -> None:
        if node in stack:
            cycles.append(stack[stack.index(node):] + [node])
            return
        if node in seen:
            return
        seen.add(node)
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            visit(nxt)
        stack.pop()

    for node in sorted(known & set(edges)):
        visit(node)
    # (A submodule importing its own package, whose __init__ re-exports it, is left out above.)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles[:10])


def test_the_top_level_stays_small_and_no_module_is_long():
    top = [p.name for p in (REPO / "contentgen").glob("*.py")]
    assert len(top) <= 15, f"{len(top)} top-level modules in contentgen/: {sorted(top)}"
    long = [f"{p.relative_to(REPO)}: {n}" for p in (REPO / "contentgen").rglob("*.py")
            if (n := len(p.read_text(encoding='utf-8').splitlines())) > 500]
    assert not long, "modules over 500 lines:\n" + "\n".join(long)


def test_the_pipeline_names_no_task():
    """The generation pipeline runs any task of the registry; what differs lives in contentgen/tasks/."""
    import re

    from contentgen.tasks import TASKS

    names = "|".join(map(re.escape, TASKS))
    for path in (REPO / "contentgen" / "usecases").glob("*.py"):
        if path.name in ("service.py", "stream.py", "results.py", "requester.py"):
            source = path.read_text(encoding="utf-8")
            assert not re.search(rf"""["']({names})["']""", source), f"{path.name} names a task"
    outside = [f"{p.relative_to(REPO)}:{i + 1}" for p in (REPO / "contentgen").rglob("*.py")
               if "tasks" not in p.relative_to(REPO / "contentgen").parts
               for i, line in enumerate(p.read_text(encoding="utf-8").splitlines())
               if re.search(rf"""[=!]=\s*["']({names})["']""", line)]
    assert not outside, "a task named by string outside contentgen/tasks/:\n" + "\n".join(outside)
