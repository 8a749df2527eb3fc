"""Read the student's code for what an honest answer never needs: hooks into the interpreter, IPython,
the import system, tracing, signals, the check package or the grader.

Nothing here changes a grade: each finding becomes a review flag on the notebook's rows, with its reason,
for the instructor to look at. The released cells' own code is not the student's and is not reported.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

# dotted name (as the cell's imports resolve it) or a prefix of one -> why an instructor should look
TRACING = "traces or inspects running code"
IPYTHON = "hooks into IPython"
IMPORTS = "changes or bypasses the import system"
INTERPRETER = "changes the interpreter's hooks"
SIGNALS = "uses signals or kills processes"
CHECKS = "touches the check package or the grader"
DYNAMIC = "runs code built from strings"
ENVIRONMENT = "changes environment variables"
SHELL = "runs shell commands or installs packages"
COMPARISON = "defines how its objects compare or dispatch"
FILES = "looks up where modules live"
LIBRARY = "replaces part of a library"
LIBRARIES = {"torch", "torchvision", "numpy", "PIL", "math", "builtins", "functools", "operator", "random",
             "statistics", "copy", "collections", "itertools", "inspect", "types", "sys", "os"}

NAMES = {
    "sys.settrace": TRACING, "sys.setprofile": TRACING, "sys.monitoring": TRACING, "sys._getframe": TRACING,
    "sys.gettrace": TRACING, "threading.settrace": TRACING, "threading.setprofile": TRACING,
    "threading.settrace_all_threads": TRACING, "inspect.currentframe": TRACING, "inspect.stack": TRACING,
    "inspect.trace": TRACING, "inspect.getouterframes": TRACING, "gc": TRACING, "ctypes": INTERPRETER,
    "get_ipython": IPYTHON, "IPython.core": IPYTHON, "IPython.get_ipython": IPYTHON, "ipykernel": IPYTHON,
    "sys.modules": IMPORTS, "sys.meta_path": IMPORTS, "sys.path_hooks": IMPORTS, "sys.path_importer_cache": IMPORTS,
    "importlib": IMPORTS, "runpy": IMPORTS, "__import__": IMPORTS, "imp": IMPORTS, "pkgutil": IMPORTS,
    "zipimport": IMPORTS,
    "sys.displayhook": INTERPRETER, "sys.excepthook": INTERPRETER, "sys.addaudithook": INTERPRETER,
    "sys.breakpointhook": INTERPRETER, "sys.unraisablehook": INTERPRETER, "builtins": INTERPRETER,
    "__builtins__": INTERPRETER, "atexit": INTERPRETER, "code": INTERPRETER, "codeop": INTERPRETER,
    "signal": SIGNALS, "faulthandler": SIGNALS, "os.kill": SIGNALS, "os.killpg": SIGNALS, "os.abort": SIGNALS,
    "ptcourse.checks": CHECKS, "ptcourse.tools": CHECKS, "incell": CHECKS, "run_check": CHECKS,
    "exec": DYNAMIC, "eval": DYNAMIC, "compile": DYNAMIC,
    "os.putenv": ENVIRONMENT, "os.unsetenv": ENVIRONMENT,
    "os.system": SHELL, "os.popen": SHELL, "os.exec": SHELL, "os.spawn": SHELL, "subprocess": SHELL, "pty": SHELL,
    "inspect.getfile": FILES, "inspect.getsourcefile": FILES, "__file__": FILES,
}
WORDS = {"PTCOURSE_GRADED": CHECKS, "forced": CHECKS, "_ptcourse_grading_guard": CHECKS}  # names or strings
FRAME_ATTRIBUTES = {"f_locals", "f_globals", "f_back", "f_trace", "f_code", "tb_frame", "gi_frame", "cr_frame"}
SPECIAL_METHODS = {"__eq__", "__ne__", "__bool__", "__torch_function__", "__torch_dispatch__", "__instancecheck__",
                   "__subclasscheck__", "__getattribute__"}
ENVIRON_WRITES = {"update", "setdefault", "pop", "popitem", "clear", "__setitem__", "__delitem__"}
# Magics an honest notebook uses; any other (load_ext, run, config, writefile, env, ...) is reported.
QUIET_MAGICS = {"time", "timeit", "matplotlib", "capture", "prun", "who", "whos", "pinfo", "pinfo2", "pdoc",
                "psource", "precision", "pprint", "history", "lsmagic", "magic", "page", "debug", "xmode", "tb"}
SHELL_MAGICS = {"pip", "conda", "mamba", "system", "sx", "sh", "bash", "script", "!"}
ENV_MAGICS = {"env", "set_env"}
MAGIC = re.compile(r"^\s*(%%?)([A-Za-z_][\w]*)|^\s*!+\s*(\S*)")


@dataclass(frozen=True)
class Finding:
    reason: str
    what: str  # the name or construct, e.g. "sys.settrace"
    cell_id: str


def _ipython_to_python(source: str) -> tuple[str, list[tuple[str, str]]]:
    """The cell with its IPython syntax (magics, `!cmd`) removed, and what each removed line did."""
    lines, magics = [], []
    cell_magic = False
    for line in source.splitlines():
        if cell_magic:
            lines.append("")
            continue
        match = MAGIC.match(line)
        if match is None:
            lines.append(line)
            continue
        kind, name = (match.group(1), match.group(2)) if match.group(2) else ("!", match.group(3) or "")
        magics.append((kind, name))
        cell_magic = kind == "%%"
        lines.append("")
    return "\n".join(lines), magics


def _magic_reason(kind: str, name: str) -> str | None:
    if name in QUIET_MAGICS:
        return None
    if name in SHELL_MAGICS or kind == "!":
        return SHELL
    if name in ENV_MAGICS:
        return ENVIRONMENT
    return IPYTHON


class _Aliases(ast.NodeVisitor):
    """What each imported name stands for: `import numpy as np` gives {"np": "numpy"}."""

    def __init__(self):
        self.names: dict[str, str] = {}

    def visit_Import(self, node):
        for alias in node.names:
            if alias.asname:
                self.names[alias.asname] = alias.name
            else:
                root = alias.name.split(".")[0]
                self.names[root] = root

    def visit_ImportFrom(self, node):
        if node.module and not node.level:
            for alias in node.names:
                self.names[alias.asname or alias.name] = f"{node.module}.{alias.name}"


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Call):  # get_ipython().run_cell -> get_ipython.run_cell
        return _dotted(node.func, aliases) and ".".join([_dotted(node.func, aliases), *reversed(parts)])
    if not isinstance(node, ast.Name):
        return None
    return ".".join([aliases.get(node.id, node.id), *reversed(parts)])


def _reason_of(name: str) -> str | None:
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        reason = NAMES.get(".".join(parts[:end]))
        if reason:
            return reason
    if name.startswith("os.exec") or name.startswith("os.spawn"):
        return SHELL
    return None


class _Finder(ast.NodeVisitor):
    def __init__(self, aliases: dict[str, str], check_names: set[str], packages: tuple[str, ...] = ()):
        self.aliases, self.check_names, self.packages = aliases, check_names, packages
        self.found: list[tuple[str, str]] = []

    def reason(self, name: str) -> str | None:
        if any(name == p or name.startswith(p + ".") for p in self.packages):
            return CHECKS
        return _reason_of(name)

    def add(self, reason: str, what: str):
        if not any(r == reason and w.startswith(what) for r, w in self.found):  # `sys.modules.pop`, not also `sys.modules`
            self.found.append((reason, what))

    def visit_Import(self, node):
        for alias in node.names:
            reason = self.reason(alias.name)
            if reason:
                self.add(reason, f"import {alias.name}")

    def visit_ImportFrom(self, node):
        if node.module and not node.level:
            for alias in node.names:
                reason = self.reason(f"{node.module}.{alias.name}")
                if reason:
                    self.add(reason, f"from {node.module} import {alias.name}")

    def visit_Name(self, node):
        if node.id in WORDS:
            self.add(WORDS[node.id], node.id)
        elif node.id in ("__builtins__", "__file__", "__import__", "exec", "eval", "compile", "get_ipython"):
            self.add(NAMES[node.id], node.id)

    def visit_Attribute(self, node):
        name = _dotted(node, self.aliases)
        if node.attr in FRAME_ATTRIBUTES:
            self.add(TRACING, f".{node.attr}")
        elif node.attr in WORDS:
            self.add(WORDS[node.attr], f".{node.attr}")
        elif node.attr in ("__file__", "__path__", "__spec__", "__loader__"):
            self.add(FILES, name or f".{node.attr}")
        elif name:
            reason = self.reason(name)
            if reason:
                self.add(reason, name)
            elif name.startswith("os.environ") and isinstance(node.ctx, ast.Load) and node.attr in ENVIRON_WRITES:
                self.add(ENVIRONMENT, name)
        if isinstance(node.ctx, ast.Store):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in self.check_names:
                self.add(CHECKS, f"assigns {_dotted(node, self.aliases) or node.attr}")
            elif name and name.split(".")[0] == "sys" and name.count(".") == 1:
                self.add(INTERPRETER, f"assigns {name}")
        self.generic_visit(node)

    def visit_Assign(self, node):
        if not isinstance(node.value, ast.Constant):  # torch.backends.cudnn.benchmark = True is a setting
            for target in node.targets:
                name = _dotted(target, self.aliases) if isinstance(target, ast.Attribute) else None
                if name and name.split(".")[0] in LIBRARIES and name.count(".") >= 1 and not name.startswith("sys."):
                    self.add(LIBRARY, f"{name} = ...")
        self.generic_visit(node)

    def visit_Subscript(self, node):
        name = _dotted(node.value, self.aliases)
        if name == "os.environ" and isinstance(node.ctx, (ast.Store, ast.Del)):
            self.add(ENVIRONMENT, "os.environ[...] =")
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str):
            for word, reason in WORDS.items():
                if word in node.value and word != "forced":
                    self.add(reason, repr(word))

    def visit_Call(self, node):
        name = _dotted(node.func, self.aliases)
        if name in ("setattr", "delattr", "vars") and node.args:
            target = _dotted(node.args[0], self.aliases) or ""
            if target.split(".")[0] in self.check_names or self.reason(target):
                self.add(CHECKS if target.split(".")[0] in self.check_names else self.reason(target), f"{name}({target}, ...)")
        self.generic_visit(node)

    def visit_ClassDef(self, node):
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name in SPECIAL_METHODS:
                self.add(COMPARISON, f"class {node.name}: {item.name}")
            elif isinstance(item, ast.Assign) and any(isinstance(t, ast.Name) and t.id in SPECIAL_METHODS for t in item.targets):
                self.add(COMPARISON, f"class {node.name}: {next(t.id for t in item.targets if isinstance(t, ast.Name))}")
        self.generic_visit(node)


def aliases_of(sources: list[str]) -> dict[str, str]:
    """The names all these cells import (a student may use `sys` imported by a released cell)."""
    collector = _Aliases()
    for source in sources:
        try:
            collector.visit(ast.parse(_ipython_to_python(source)[0]))
        except SyntaxError:
            pass
    return collector.names


def findings(source: str, aliases: dict[str, str], check_names: set[str],
             packages: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(reason, what) for one cell's code, magics included; a cell that does not parse has none (it cannot run)."""
    python, magics = _ipython_to_python(source)
    found = [(reason, f"{kind}{name}") for kind, name in magics
             if (reason := _magic_reason(kind, name))]
    try:
        tree = ast.parse(python)
    except SyntaxError:
        return found
    finder = _Finder(aliases, check_names, packages)
    finder.visit(tree)
    return found + finder.found


def scan(cells: list[tuple[str, str, str | None]], check_names: set[str], packages: tuple[str, ...] = ()) -> list[Finding]:
    """Findings in the student's code: `cells` are (cell id, source run, released source or None);
    `check_names` the names the release binds to check modules, `packages` the check packages.

    In a released cell the student edited, only what the released source does not already do is reported.
    """
    aliases = aliases_of([source for _, source, _ in cells] + [released for _, _, released in cells if released])
    result: list[Finding] = []
    for cell_id, source, released in cells:
        found = findings(source, aliases, check_names, packages)
        if released is not None:
            for known in findings(released, aliases, check_names, packages):
                if known in found:
                    found.remove(known)
        for reason, what in dict.fromkeys(found):
            result.append(Finding(reason, what, cell_id))
    return result


def summary(found: list[Finding], limit: int = 3) -> list[str]:
    """One line per reason: `hooks into IPython: get_ipython.input_transformers_post (cell 'x')`."""
    by_reason: dict[str, list[str]] = {}
    for finding in found:
        entry = f"{finding.what} (cell {finding.cell_id!r})"
        if entry not in by_reason.setdefault(finding.reason, []):
            by_reason[finding.reason].append(entry)
    lines = []
    for reason, entries in by_reason.items():
        more = f", and {len(entries) - limit} more" if len(entries) > limit else ""
        lines.append(f"{reason}: {', '.join(entries[:limit])}{more}")
    return lines
