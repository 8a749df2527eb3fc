"""One Jupyter kernel per submission, run cell by cell under a time, memory and output budget.

A cell ends as `ok`, `error`, `timeout`, `died` (the kernel process is gone: os._exit, a segfault, the
memory limit) or `output limit`. The last three stop the kernel; the caller runs nothing after them.
Every process the kernel started (DataLoader workers included) is killed when the kernel is closed.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from queue import Empty

import ipykernel.kernelspec
import psutil
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager


OK, ERROR, TIMEOUT, DIED, OUTPUT_LIMIT = "ok", "error", "timeout", "died", "output limit"
KEPT_CHARS = 20_000  # of each cell's stdout, result and traceback: enough to quote, never hundreds of MB
TAIL_CHARS = 2_000  # the end of a long stdout, kept too
POLL_S = 0.05  # how long one wait for a kernel message lasts
WATCH_S = 0.25  # how often the kernel's processes are checked (alive? memory?)
IDLE_GRACE_S = 2.0  # after the reply, how long to wait for the last output (a flooded channel can drop it)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class Limits:
    cell_timeout: float = 60.0  # seconds for one cell
    notebook_timeout: float = 600.0  # seconds for all cells of one notebook together
    memory_bytes: int = 4 * 2**30  # the kernel and its child processes together
    output_bytes: int = 20 * 2**20  # everything the notebook prints or displays


@dataclass
class CellResult:
    cell_id: str
    status: str = OK
    ename: str = ""
    evalue: str = ""
    traceback: str = ""
    stdout: str = ""  # the start of what the cell printed
    stdout_tail: str = ""  # and the last TAIL_CHARS of all it printed (a check's success line comes last)
    result: str = ""  # text/plain of the cell's value (execute_result)
    seconds: float = 0.0
    reason: str = ""  # for timeout / died / output limit: what happened, in words


def _keep(text: str, more: str) -> str:
    return text + more[: max(0, KEPT_CHARS - len(text))]


def _keep_stdout(result: "CellResult", more: str) -> None:
    # The tail always holds the end of everything printed, so a line that straddles KEPT_CHARS is whole in it.
    result.stdout = _keep(result.stdout, more)
    result.stdout_tail = (result.stdout_tail + more)[-TAIL_CHARS:]


def size(n: float) -> str:
    return f"{n / 2**30:.3g} GB" if n >= 2**30 else f"{n / 2**20:.3g} MB"


def _shared_once(p: psutil.Process) -> int:
    """Memory with pages shared between forked processes counted once (PSS; USS where there is no PSS)."""
    info = p.memory_full_info()
    return getattr(info, "pss", getattr(info, "uss", info.rss))


class _CurrentPython(KernelSpecManager):
    """The ipykernel of the Python running the grader, whatever kernels the machine has installed."""

    def get_kernel_spec(self, kernel_name):
        return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES, **ipykernel.kernelspec.get_kernel_dict())


class Kernel:
    """A fresh kernel in `cwd`; `run(code)` executes one cell; `close()` kills it and its process tree."""

    def __init__(self, cwd: Path, limits: Limits, env: dict[str, str] | None = None, python_path: tuple[str, ...] = ()):
        self.limits = limits
        self.output_bytes = 0
        self.descendants: dict[int, float] = {}  # pid -> create_time, to kill workers even if they lose their parent
        env = dict(os.environ, **(env or {}), IPYTHONDIR=str(cwd / ".ipython"))  # not the user's IPython profile
        if python_path:
            env["PYTHONPATH"] = os.pathsep.join([*python_path, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        self.km = KernelManager(kernel_name="python3", kernel_spec_manager=_CurrentPython())
        self.km.start_kernel(cwd=str(cwd), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             extra_arguments=["--HistoryManager.enabled=False"])
        self.process = psutil.Process(self.km.provisioner.process.pid)
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            self.kc.wait_for_ready(timeout=120)
        except BaseException:
            self.close()
            raise
        self.budget_started = time.monotonic()  # the notebook budget counts cell time, not kernel start-up

    def run(self, cell_id: str, code: str, store_history: bool = True) -> CellResult:
        """Execute one cell; never raises for anything the cell does."""
        result = CellResult(cell_id)
        start = time.monotonic()
        cell_deadline = start + self.limits.cell_timeout
        notebook_deadline = self.budget_started + self.limits.notebook_timeout
        msg_id = self.kc.execute(code, store_history=store_history, allow_stdin=False, stop_on_error=False)
        replied_at, idle = None, False
        next_watch = start
        while not idle:
            now = time.monotonic()
            if replied_at is not None and now > replied_at + IDLE_GRACE_S:
                break
            if now >= min(cell_deadline, notebook_deadline):
                result.status = TIMEOUT
                result.reason = (f"it ran longer than the {self.limits.cell_timeout:g} s cell timeout"
                                 if now >= cell_deadline
                                 else f"the notebook used up its {self.limits.notebook_timeout:g} s time budget here")
                break
            if now >= next_watch:
                next_watch = now + WATCH_S
                problem = self._watch()
                if problem:
                    result.status, result.reason = DIED, problem
                    break
            try:
                msg = self.kc.get_iopub_msg(timeout=POLL_S)
            except Empty:
                msg = None
            if msg is not None:
                idle |= self._collect(msg, msg_id, result)
                if self.output_bytes > self.limits.output_bytes:
                    result.status = OUTPUT_LIMIT
                    result.reason = (f"the notebook printed more than {size(self.limits.output_bytes)} "
                                     "(stdout and stderr together)")
                    break
            while replied_at is None:
                try:
                    reply = self.kc.get_shell_msg(timeout=0)
                except Empty:
                    break
                if reply["parent_header"].get("msg_id") == msg_id:
                    replied_at = time.monotonic()
                    if reply["content"].get("status") == "error" and result.status == OK:
                        result.status = ERROR
                        result.ename = result.ename or reply["content"].get("ename", "")
                        result.evalue = result.evalue or reply["content"].get("evalue", "")
        result.seconds = time.monotonic() - start
        return result

    def _collect(self, msg, msg_id: str, result: CellResult) -> bool:
        """Account for one iopub message; keep the start of this cell's output. True when the cell went idle."""
        content, kind = msg["content"], msg["msg_type"]
        if kind == "stream":
            self.output_bytes += len(content.get("text", ""))
        elif kind in ("display_data", "execute_result", "update_display_data"):
            self.output_bytes += sum(len(str(v)) for v in content.get("data", {}).values())
        elif kind == "error":
            self.output_bytes += sum(len(line) for line in content.get("traceback", []))
        if msg["parent_header"].get("msg_id") != msg_id:
            return False  # output of an earlier cell's background thread: counted, not kept
        if kind == "stream" and content.get("name") == "stdout":
            _keep_stdout(result, content.get("text", ""))
        elif kind == "execute_result":
            result.result = _keep(result.result, content.get("data", {}).get("text/plain", ""))
        elif kind == "error":
            result.status, result.ename, result.evalue = ERROR, content.get("ename", ""), content.get("evalue", "")
            result.traceback = _keep("", ANSI.sub("", "\n".join(content.get("traceback", []))))
        elif kind == "status":
            return content.get("execution_state") == "idle"
        return False

    def _watch(self) -> str:
        """Why the kernel must stop (dead, or over the memory limit), or ''. Also remembers its processes."""
        code = self.km.provisioner.process.poll()
        if code is not None:
            if code < 0:
                try:
                    name = signal.Signals(-code).name
                except ValueError:
                    name = f"signal {-code}"
                hint = {"SIGSEGV": " (a segmentation fault)", "SIGKILL": " (out of memory?)", "SIGABRT": " (aborted)"}
                return f"the kernel died: killed by {name}{hint.get(name, '')}"
            return f"the kernel died: its process exited with code {code}"
        try:
            tree = [self.process, *self.process.children(recursive=True)]
        except psutil.Error:
            return ""
        for p in tree[1:]:
            try:
                self.descendants.setdefault(p.pid, p.create_time())
            except psutil.Error:
                pass
        rss = sum(_safe(lambda p=p: p.memory_info().rss) for p in tree)
        if rss > self.limits.memory_bytes:
            # RSS counts the pages that forked workers share with the kernel once per process; PSS does not.
            if sum(_safe(lambda p=p: _shared_once(p)) for p in tree) > self.limits.memory_bytes:
                return f"the kernel was stopped: it used more than the {size(self.limits.memory_bytes)} memory limit"
        return ""

    def close(self) -> None:
        """Kill the kernel and every process it started (also those it lost track of)."""
        victims = []
        for pid, created in self.descendants.items():
            try:
                p = psutil.Process(pid)
                if p.create_time() == created:
                    victims.append(p)
            except psutil.Error:
                pass
        try:
            victims += [self.process, *self.process.children(recursive=True)]
        except psutil.Error:
            pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # the kernel leads its own session and process group
        except (OSError, AttributeError):
            pass
        kill(victims)
        self.kc.stop_channels()
        try:
            self.km.provisioner.process.wait(timeout=5)
        except Exception:
            pass
        self.km.cleanup_resources()


def kill(processes: list[psutil.Process]) -> None:
    """SIGKILL each process (gone ones are fine) and wait for them to go."""
    for p in processes:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(processes, timeout=5)


def _safe(measure) -> int:
    try:
        return measure()
    except psutil.Error:
        return 0
