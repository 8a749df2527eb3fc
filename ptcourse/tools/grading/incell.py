"""Runs inside the student's kernel, loaded afresh from this file for every check cell (never imported).

In place of a check cell's source the grader sends one line,
`runpy.run_path(<this file>)["run_check"](globals(), <released source>, ...)`, so nothing the notebook
defined or patched beforehand stands between the grader and the check:
- while the check runs, its check packages are imported afresh from their .py files (whatever the
  notebook did to `check.fn` or `_core` is ignored), and the released check cell runs with its check
  names (`check`) bound to those fresh modules;
- the cell's result is `(nonce, exercise, "passed")` only if the check raised nothing and called its own
  `passed(exercise, ...)`; the nonce is new for every check cell, so printed text cannot forge it;
- library, builtin or check functions that notebook code replaced make the exercise tampered.
"""
import contextlib
import functools
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from pathlib import Path

# Top-level packages whose functions a check relies on; a notebook-made replacement there is tampering.
WATCHED = ("builtins", "math", "operator", "functools", "random", "statistics", "numpy", "torch", "ptcourse")
_MISSING = object()


class TamperingDetected(Exception):
    """Notebook code replaced a function the checks rely on."""


class _SourceLoader(importlib.machinery.SourceFileLoader):
    """Compiles a module from its .py file (never a cached .pyc) and records calls to its `passed`."""

    def __init__(self, name, path, calls):
        super().__init__(name, path)
        self.calls = calls

    def get_code(self, fullname):
        path = self.get_filename(fullname)
        return self.source_to_code(self.get_data(path), path)

    def exec_module(self, module):
        super().exec_module(module)
        original, calls = module.__dict__.get("passed"), self.calls
        if callable(original) and not getattr(original, "graded", False):
            @functools.wraps(original)
            def passed(exercise, *args, **kwargs):
                calls.append(str(exercise))
                return original(exercise, *args, **kwargs)

            passed.graded = True
            module.passed = passed


class _FreshFinder(importlib.abc.MetaPathFinder):
    """Finds the check packages and modules at the paths the grader resolved, ahead of any other finder."""

    def __init__(self, roots, calls):
        self.roots = {name: Path(where) for name, where in roots.items()}
        self.calls = calls

    def find_spec(self, name, path=None, target=None):
        for root, where in self.roots.items():
            if name == root:
                location = where
            elif name.startswith(root + ".") and where.is_dir():
                location = where.joinpath(*name[len(root) + 1:].split("."))
            else:
                continue
            if location.is_dir():
                init = str(location / "__init__.py")
                return importlib.util.spec_from_file_location(
                    name, init, loader=_SourceLoader(name, init, self.calls), submodule_search_locations=[str(location)])
            file = str(location if location.suffix == ".py" else location.with_suffix(".py"))
            if Path(file).is_file():
                return importlib.util.spec_from_file_location(name, file, loader=_SourceLoader(name, file, self.calls))
        return None


def _covered(name, roots):
    return any(name == root or name.startswith(root + ".") for root in roots)


@contextlib.contextmanager
def fresh_checks(roots, calls):
    """For the duration, the check packages in sys.modules are fresh imports from their files.

    Yields a dict that, on exit, holds the fresh modules; sys.modules then is as the notebook had it.
    """
    saved = {name: module for name, module in sys.modules.items() if _covered(name, roots)}
    parents = {}  # attributes that importing a root sets on a package outside the roots
    for root in roots:
        parent, _, child = root.rpartition(".")
        if parent in sys.modules:
            parents[parent, child] = sys.modules[parent].__dict__.get(child, _MISSING)
    for name in saved:
        del sys.modules[name]
    finder = _FreshFinder(roots, calls)
    sys.meta_path.insert(0, finder)
    fresh = {}
    try:
        yield fresh
    finally:
        sys.meta_path.remove(finder)
        for name in [name for name in sys.modules if _covered(name, roots)]:
            fresh[name] = sys.modules.pop(name)
        sys.modules.update(saved)
        for (parent, child), value in parents.items():
            if parent in sys.modules:
                if value is _MISSING:
                    sys.modules[parent].__dict__.pop(child, None)
                else:
                    setattr(sys.modules[parent], child, value)


def resolve(bindings):
    """{name: module or object} as `import module` / `from module import attribute` would bind it now."""
    values = {}
    for name, (module, attribute) in bindings.items():
        value = importlib.import_module(module)
        if attribute is not None:
            value = (getattr(value, attribute) if hasattr(value, attribute)
                     else importlib.import_module(f"{module}.{attribute}"))
        values[name] = value
    return values


_UNWRAP = {functools.partial: "func", types.MethodType: "__func__", staticmethod: "__func__", classmethod: "__func__"}


def _from_notebook(value):
    """Whether a function, class or callable object was defined by notebook code (module `__main__`).

    Uses type(), never isinstance(): some library objects warn or compute when asked for `__class__`.
    """
    kind = type(value)
    if kind in _UNWRAP:
        value = getattr(value, _UNWRAP[kind], None)
        kind = type(value)
    origin = value if kind is types.FunctionType or issubclass(kind, type) else kind
    try:
        return origin.__module__ == "__main__"
    except Exception:  # an object that breaks on attribute access is not code the checks call
        return False


def replaced_by_notebook(roots, extra_modules=()):
    """Attributes of the check modules and of public library modules (and their classes) that now hold
    notebook-defined code. Private modules (`torch._C`, ...) are skipped: too many to scan at every check."""
    found = []
    for name, module in [*sys.modules.items(), *((m.__name__, m) for m in extra_modules)]:
        public = name.partition(".")[0] in WATCHED and not any(part.startswith("_") for part in name.split("."))
        if not (public or _covered(name, roots)) or type(module) is not types.ModuleType:
            continue
        for attribute, value in list(module.__dict__.items()):
            if name == "builtins" and attribute.startswith("_"):
                continue  # IPython keeps `_` (the last result) there
            if _from_notebook(value):
                found.append(f"{name}.{attribute}")
            elif issubclass(type(value), type) and value.__dict__.get("__module__") == name:
                found += [f"{name}.{attribute}.{key}" for key, member in list(value.__dict__.items())
                          if _from_notebook(member)]
    return sorted(set(found))


def run_check(namespace, source, filename, exercise, nonce, bindings, roots):
    """Run one released check cell; return the verdict only if the check itself confirmed a pass."""
    calls, failure = [], None
    with fresh_checks(roots, calls) as fresh:
        scope = dict(namespace)
        scope.update(resolve(bindings))
        for root in roots:  # graded: an unfinished or wrong exercise raises, whatever the kernel's environment
            mode = sys.modules.get(f"{root}.mode")
            if mode is not None and hasattr(mode, "forced"):
                mode.forced = True
        try:
            exec(compile(source, filename, "exec"), scope)
        except BaseException as error:
            failure = error
    replaced = replaced_by_notebook(roots, fresh.values())
    if replaced:
        raise TamperingDetected(f"the notebook replaced {', '.join(replaced)}") from failure
    if failure is not None:
        raise failure
    if exercise not in calls:
        raise RuntimeError(f"the check cell finished without the check confirming exercise {exercise}")
    return (nonce, exercise, "passed")
