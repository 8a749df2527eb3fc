"""Runs inside the student's kernel, loaded afresh from this file each time (never imported as a module).

Before the notebook's first cell the grader sends one line that calls `install(...)`: it imports the
lesson's check modules (and so torch, numpy, ...) and records the identity of every function and class
of the watched libraries, and the trace and profile functions, before any student code has run.

In place of each check cell the grader sends one line,
`runpy.run_path(<this file>)["run_check"](globals(), <released source>, ...)`:
- while the check runs, its check packages are imported afresh from their .py files (whatever the
  notebook did to `check.fn` or `_core` is ignored), and the released check cell runs with its check
  names (`check`) bound to those fresh modules;
- the cell's result is `(nonce, exercise, "passed", <success line>)` only if the check raised nothing
  and called its own `passed(exercise, ...)`; the nonce is new for every check cell, so printed text
  cannot forge it, and the grader also wants the success line in the cell's output;
- a library function that is no longer the object recorded by `install` (whatever its `__module__` or
  `__wrapped__` claim), a function of notebook code in the check packages, or a trace or profile
  function the notebook set make the exercise tampered.
"""
import contextlib
import functools
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import io
import re
import sys
import types
from pathlib import Path

# Top-level packages whose functions a check relies on; a replacement there is tampering.
WATCHED = ("builtins", "math", "operator", "functools", "random", "statistics", "copy", "collections",
           "numpy", "torch", "torchvision", "PIL", "ptcourse", "runpy", "importlib")
GUARD = "_ptcourse_grading_guard"  # the sys.modules entry that keeps what install() recorded
# Rebound by IPython and ipykernel themselves (input() on every execution request), never called by a check.
VOLATILE = {("builtins", "input"), ("builtins", "raw_input"), ("builtins", "display"), ("builtins", "get_ipython")}
NOTEBOOK_CODE = re.compile(r"[/\\]ipykernel_\d+[/\\]|^<ipython-input-")  # where IPython compiles cells
DATA = (int, float, complex, str, bytes, bool, type(None), tuple, list, dict, set, frozenset)
_MISSING = object()


class TamperingDetected(Exception):
    """Notebook code replaced a function the checks rely on, or changed how the check runs."""


class _SourceLoader(importlib.machinery.SourceFileLoader):
    """Compiles a module from its .py file (never a cached .pyc) and records what its `passed` printed."""

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
                printed = io.StringIO()
                with contextlib.redirect_stdout(printed):
                    result = original(exercise, *args, **kwargs)
                sys.stdout.write(printed.getvalue())
                calls.append((str(exercise), printed.getvalue().strip()))
                return result

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


# --- What notebook code replaced ---------------------------------------------------------------------
_UNWRAP = {functools.partial: "func", types.MethodType: "__func__", staticmethod: "__func__", classmethod: "__func__"}


def _notebook_function(function) -> bool:
    """A function compiled from a notebook cell, whatever `__module__`, `__name__` or `__wrapped__` it claims."""
    code = getattr(function, "__code__", None)
    return function.__module__ == "__main__" or (type(code) is types.CodeType and bool(NOTEBOOK_CODE.search(code.co_filename)))


def _from_notebook(value, depth: int = 0) -> bool:
    """Whether a function, class or callable object was defined by notebook code, or wraps such code
    (through `__wrapped__`, `functools.partial` or a closure: a library's wrapper around a notebook lambda).

    Uses type(), never isinstance(): some library objects warn or compute when asked for `__class__`.
    """
    if depth > 3:
        return False
    if type(value) is types.FunctionType and depth < 3:
        inner = [getattr(value, "__wrapped__", None), *(c.cell_contents for c in (value.__closure__ or ())
                                                         if _filled(c))]
        if any(type(i) in (types.FunctionType, *_UNWRAP) and _from_notebook(i, depth + 1) for i in inner):
            return True
    kind = type(value)
    if kind in _UNWRAP:
        value = getattr(value, _UNWRAP[kind], None)
        kind = type(value)
    try:
        if kind is types.FunctionType:
            return _notebook_function(value)
        origin = value if issubclass(kind, type) else kind
        if origin.__module__ == "__main__":
            return True
        return any(type(member) is types.FunctionType and _notebook_function(member)
                   for member in list(vars(origin).values()))
    except Exception:  # an object that breaks on attribute access is not code the checks call
        return False


def _filled(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:  # an empty closure cell
        return False
    return True


def _watched(name, roots) -> bool:
    """A public module of a watched library, or any module of a check package."""
    public = name.partition(".")[0] in WATCHED and not any(part.startswith("_") for part in name.split("."))
    return public or _covered(name, roots)


def _own_class(value, module_name) -> bool:
    return issubclass(type(value), type) and vars(value).get("__module__") == module_name


class Guard:
    """The identities of the watched libraries' functions and classes, recorded before student code runs."""

    def __init__(self, roots):
        self.roots = dict(roots)
        self.modules = {}  # name -> module object
        self.members = {}  # (module name, attribute) or (module name, class, attribute) -> object
        self.trace, self.profile = sys.gettrace(), sys.getprofile()
        self.record()

    def record(self):
        """Add the watched modules loaded since the last call (those loaded before student code ran)."""
        for name, module in list(sys.modules.items()):
            if name in self.modules or type(module) is not types.ModuleType or _covered(name, self.roots):
                continue  # the check packages are imported afresh for every check: nothing to record
            if not _watched(name, ()):
                continue
            self.modules[name] = module
            for attribute, value in list(vars(module).items()):
                if type(value) is types.ModuleType or not callable(value) or (name, attribute) in VOLATILE:
                    continue
                self.members[name, attribute] = value
                try:
                    if _own_class(value, name):
                        for key, member in list(vars(value).items()):
                            if type(member) not in DATA:  # counters and caches change as the library runs
                                self.members[name, attribute, key] = member
                except Exception:  # noqa: BLE001 - a class whose metaclass breaks vars(): its identity is enough
                    pass

    def replaced(self):
        """What notebook code put in place of what the record holds: modules, functions, class members.

        A library rewrites some of its own functions as it runs (torch wraps an optimizer's `step` on first
        use, and `torch.manual_seed` when it loads its compiler): a changed object counts when it was made
        by notebook code, which its code object tells, whatever its name, `__module__` or `__wrapped__` say.
        """
        found = []
        for name, module in self.modules.items():
            now = sys.modules.get(name, module)
            if now is not module and (type(now) is not types.ModuleType or getattr(now, "__spec__", None) is None):
                found.append(f"sys.modules[{name!r}]")
        for key, value in self.members.items():
            owner = vars(self.modules[key[0]])
            if len(key) == 3:
                cls = owner.get(key[1])
                owner = vars(cls) if issubclass(type(cls), type) else {}
            now = owner.get(key[-1], _MISSING)
            if now is not value and now is not _MISSING and _from_notebook(now):
                found.append(".".join(key))
        if sys.gettrace() is not self.trace:
            found.append("the trace function (sys.settrace)")
        if sys.getprofile() is not self.profile:
            found.append("the profile function (sys.setprofile)")
        return found

    def added(self, roots, extra_modules=()):
        """Notebook-defined code found where the record has nothing: new attributes, modules loaded later,
        and the check packages (imported afresh, so anything notebook-made there was put in while the check ran)."""
        found, kinds = [], {}  # kinds: instances of one class are notebook-made or not alike
        for name, module in [*list(sys.modules.items()), *((m.__name__, m) for m in extra_modules)]:
            if type(module) is not types.ModuleType or not (_watched(name, ()) or _covered(name, roots)):
                continue
            for attribute, value in list(vars(module).items()):
                if name == "builtins" and attribute.startswith("_"):
                    continue  # IPython keeps `_` (the last result) there
                if (name, attribute) in self.members or type(value) is types.ModuleType:
                    continue  # compared by identity in replaced()
                kind = type(value)
                plain = kind is not types.FunctionType and kind not in _UNWRAP and not issubclass(kind, type)
                if plain and kind not in kinds:
                    kinds[kind] = _from_notebook(value)
                if kinds[kind] if plain else _from_notebook(value):
                    found.append(f"{name}.{attribute}")
                elif _own_class(value, name):
                    found += [f"{name}.{attribute}.{key}" for key, member in list(vars(value).items())
                              if (name, attribute, key) not in self.members and _from_notebook(member)]
        return found


def install(roots, imports):
    """Called once, before the notebook's first cell: import the lesson's check modules, record identities."""
    for module in imports:
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - the lesson's own cells will report a broken import
            pass
    holder = types.ModuleType(GUARD)
    holder.guard = Guard(roots)
    sys.modules[GUARD] = holder


def record():
    """Called after each restored setup cell: record the watched modules it imported."""
    holder = sys.modules.get(GUARD)
    if holder is not None:
        holder.guard.record()


def run_check(namespace, source, filename, exercise, nonce, bindings, roots):
    """Run one released check cell; return the verdict only if the check itself confirmed a pass."""
    holder = sys.modules.get(GUARD)
    guard = getattr(holder, "guard", None)
    if type(guard).__name__ != "Guard":
        raise TamperingDetected("the grader's record of the libraries was removed from the kernel")
    problems = guard.replaced()
    calls, failure = [], None
    trace, profile = sys.gettrace(), sys.getprofile()
    sys.settrace(guard.trace)  # a trace function could rewrite the check's variables as it runs
    sys.setprofile(guard.profile)
    try:
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
    finally:
        sys.settrace(trace)
        sys.setprofile(profile)
    problems += [p for p in guard.replaced() + guard.added(roots, fresh.values()) if p not in problems]
    if problems:
        raise TamperingDetected(f"the notebook replaced {', '.join(problems)}") from failure
    if failure is not None:
        raise failure
    lines = [line for number, line in calls if number == exercise]
    if not lines:
        raise RuntimeError(f"the check cell finished without the check confirming exercise {exercise}")
    return (nonce, exercise, "passed", lines[-1])
