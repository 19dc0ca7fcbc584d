"""The package shows the workflow: stages import one way, parse time stays light, and every
`umxmr` import in the workflow scripts and bench scripts resolves.

The stage order (docs/architecture.md): the shared ground (top-level modules) below all, then
data ← models ← training / separation / oracle ← evaluation ← report. A module may import
its own stage and any stage below it, never one beside or above it.
"""

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "umxmr"

RANK = {"data": 1, "models": 2, "training": 3, "separation": 3, "oracle": 3, "evaluation": 4, "report": 5}
HEAVY = ("torch", "matplotlib", "seaborn", "pandas", "scipy", "sklearn", "museval", "musdb", "norbert")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _umxmr_imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Every `umxmr` module a module imports anywhere in its body (functions included)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "umxmr"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.split(".")[0] != "umxmr":
                continue
            # `from umxmr.stage import module` names a module, not an attribute
            for alias in node.names:
                candidate = f"{name}.{alias.name}"
                found.add(candidate if _exists(candidate) else name)
    return found


def _exists(module: str) -> bool:
    path = ROOT.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _graph() -> dict[str, set[str]]:
    graph = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        tree = ast.parse(path.read_text(), filename=str(path))
        graph[name] = _umxmr_imports(tree, name, path.name == "__init__.py") - {name}
    return graph


def _stage(module: str) -> str | None:
    """The stage subpackage of a module, None for the shared ground."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in RANK) else None


def test_every_stage_has_its_subpackage_and_the_shared_ground_is_shared():
    for stage in RANK:
        assert (PACKAGE / stage / "__init__.py").is_file(), f"umxmr/{stage}/ missing"
    graph = _graph()
    parse_time = _parse_time_imports()
    scripts = {module for _, module, _ in _script_imports()}
    for path in PACKAGE.glob("*.py"):
        if path.stem == "__init__":
            continue
        name = f"umxmr.{path.stem}"
        users = {_stage(m) or m for m, deps in graph.items() if name in deps}
        users |= {"rules (parse time)"} if name in parse_time else set()
        users |= {"workflow scripts"} if name in scripts else set()
        # the top is for what several stages, or the rules and scripts, share: not one stage's own
        only = users.pop() if len(users) == 1 else None
        assert only not in RANK, f"umxmr/{path.name} is used only by umxmr/{only}/: move it there"


def _against_the_order(graph: dict[str, set[str]]) -> list[str]:
    wrong = []
    for module, deps in graph.items():
        stage = _stage(module)
        for dep in deps:
            dep_stage = _stage(dep)
            if dep_stage is None or dep_stage == stage:
                continue
            if stage is None:
                wrong.append(f"{module} (shared ground) imports {dep} ({dep_stage})")
            elif RANK[dep_stage] >= RANK[stage]:
                wrong.append(f"{module} ({stage}) imports {dep} ({dep_stage})")
    return wrong


def _cycles(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    cycles = []

    def visit(node, stack):
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append(" -> ".join(stack[stack.index(dep) :] + [dep]))
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return cycles


def test_imports_run_one_way_down_the_stages():
    wrong = _against_the_order(_graph())
    assert not wrong, "imports against the stage order:\n" + "\n".join(wrong)


def test_no_import_cycles():
    cycles = _cycles(_graph())
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_checks_catch_a_cycle_and_a_wrong_direction():
    # the old bsseval <-> evaluate cycle, an evaluation -> report import, a shared -> stage import,
    # a separation -> training import (beside, not below), and relative imports resolved
    graph = _graph()
    graph["umxmr.evaluation.bsseval"] = graph["umxmr.evaluation.bsseval"] | {"umxmr.evaluation.evaluate"}
    assert _cycles(graph) and "umxmr.evaluation.evaluate" in _cycles(graph)[0]
    planted = {
        "umxmr.evaluation.compare": {"umxmr.report.plots"},
        "umxmr.provenance": {"umxmr.training.train"},
        "umxmr.separation.separate": {"umxmr.training.stats"},
        "umxmr.data.layout": {"umxmr.data.audio", "umxmr.atomic"},
    }
    assert len(_against_the_order(planted)) == 3
    tree = ast.parse("from . import audio\nfrom ..models import transforms\nfrom umxmr.report.plots import sdr_boxplot\n")
    assert _umxmr_imports(tree, "umxmr.data.layout", False) == {"umxmr.data.audio", "umxmr.models.transforms", "umxmr.report.plots"}


def _parse_time_imports() -> str:
    """The import statements of rules/common.smk (and any other rule file), as Python."""
    lines = []
    for smk in [ROOT / "Snakefile", *sorted((ROOT / "rules").glob("*.smk"))]:
        text = smk.read_text()
        for node in ast.parse(_python_head(text)).body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                lines.append(ast.unparse(node))
    return "\n".join(lines)


def _python_head(text: str) -> str:
    """The leading import block of a Snakemake file (imports may span parenthesised lines)."""
    out, open_parens = [], 0
    for line in text.splitlines():
        if open_parens or line.startswith(("import ", "from ")):
            out.append(line)
            open_parens += line.count("(") - line.count(")")
    return "\n".join(out)


def test_parse_time_imports_stay_light():
    code = _parse_time_imports()
    assert "umxmr.config_check" in code and "umxmr.settings" in code  # really read the rules
    probe = f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n{code}\nimport json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    loaded = {m.split(".")[0] for m in json.loads(out.stdout)}
    assert not loaded & set(HEAVY), f"parse time imports {sorted(loaded & set(HEAVY))}"


def test_subpackage_inits_import_nothing():
    for init in PACKAGE.rglob("__init__.py"):
        tree = ast.parse(init.read_text())
        imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
        assert not imports, f"{init.relative_to(ROOT)} imports at package import time"


def _script_imports() -> list[tuple[str, str, list[str]]]:
    found = []
    for script in sorted([*(ROOT / "workflow_scripts").glob("*.py"), *(ROOT / "bench").glob("*.py")]):
        for node in ast.walk(ast.parse(script.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "umxmr":
                found.append((script.name, node.module, [a.name for a in node.names]))
            elif isinstance(node, ast.Import):
                found += [(script.name, a.name, []) for a in node.names if a.name.split(".")[0] == "umxmr"]
    return found


@pytest.mark.parametrize("script, module, names", _script_imports(), ids=lambda v: v if isinstance(v, str) else None)
def test_script_imports_resolve(script, module, names):
    mod = importlib.import_module(module)
    missing = [n for n in names if not hasattr(mod, n) and not _exists(f"{module}.{n}")]
    assert not missing, f"{script}: {module} has no {missing}"
