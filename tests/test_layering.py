"""The floors of the house: the core never imports an area, and the standard stays pure.

    areas     portal/{admin,auth,delegation,entry,imports,maintenance,main,public,statistics,tasks}  pages
    core      everything else under portal/ (standard, certificates, platform, background, clock, …)
    roots     portal/__init__.py (create_app), portal/cli.py, portal/models.py: they assemble all floors

Every import counts, also one inside a function: a late import hides a dependency, it does not remove it.
"""
import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PORTAL = ROOT / "portal"
AREAS = ("admin", "auth", "delegation", "entry", "imports", "maintenance", "main", "public", "statistics",
         "tasks")
ROOTS = ("portal", "portal.cli", "portal.models")
# What the pure standard may import besides the standard library: itself, the clock, its spreadsheet readers.
STANDARD_MAY_IMPORT = ("portal.standard", "portal.clock", "openpyxl", "python_calamine")
NOT_PURE = ("flask", "flask_login", "flask_sqlalchemy", "flask_wtf", "sqlalchemy", "werkzeug", "requests", "rq",
            "redis", "portal")


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_area(name):
    parts = name.split(".")
    return len(parts) >= 2 and parts[0] == "portal" and parts[1] in AREAS


def core_modules():
    """(module name, path) of every module of the core floor."""
    for path in sorted(PORTAL.rglob("*.py")):
        name = module_name(path)
        if name not in ROOTS and not is_area(name):
            yield name, path


def imports_of(source, module, is_package=False):
    """(line, imported module) for every import in the source, at any depth, relative ones resolved;
    `from package import name` counts as importing package.name (it may be a submodule)."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def upward_imports(name, path):
    """The import statements of a core module that reach an area or a root: '<file>:<line> imports <module>'."""
    found = {}
    for line, target in imports_of(path.read_text(encoding="utf-8"), name, path.name == "__init__.py"):
        if is_area(target) or target in ROOTS[1:] or target == "portal.create_app":
            found[line] = min(found.get(line, target), target, key=len)  # the module, not each name from it
    return [f"{path.relative_to(ROOT)}:{line} imports {target}" for line, target in sorted(found.items())]


def test_no_core_module_imports_an_area_or_a_root():
    violations = [v for name, path in core_modules() for v in upward_imports(name, path)]
    assert violations == [], "\n".join(violations)


def test_the_guard_sees_an_import_hidden_in_a_function():
    source = "def issue():\n    from portal.admin.services import create_user\n    from ..tasks import routes\n"
    assert [target for _, target in imports_of(source, "portal.certificates.example") if is_area(target)] == [
        "portal.admin.services", "portal.admin.services.create_user", "portal.tasks", "portal.tasks.routes"]


def test_the_standard_is_pure_python():
    violations = []
    for name, path in core_modules():
        if not name.startswith("portal.standard"):
            continue
        for line, target in imports_of(path.read_text(encoding="utf-8"), name, path.name == "__init__.py"):
            top = target.split(".")[0]
            # (the bare package: `from portal import clock` names it, and any portal.* import runs it anyway)
            if top in NOT_PURE and target != "portal" and not target.startswith(STANDARD_MAY_IMPORT):
                violations.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert violations == [], "\n".join(sorted(set(violations)))


def test_importing_the_core_loads_no_area():
    """What the interpreter really loads: the core, imported whole, brings no page of any area along."""
    modules = [name for name, _ in core_modules()]
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n    importlib.import_module(name)\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] == 'portal' and m.count('.') >= 1 "
            f"and m.split('.')[1] in {AREAS!r}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "[]"


if __name__ == "__main__":  # the count the team tracks: python tests/test_layering.py
    upward = [v for name, path in core_modules() for v in upward_imports(name, path)]
    print("\n".join(upward + [f"{len(upward)} imports run from the core up to an area or a root"]))
