"""The course in JupyterLab, in a real browser: what a student sees, not what nbclient sees.

- every student notebook: Kernel → Restart Kernel and Run All Cells, as a student would; the last cell
  runs, no cell shows an error, and each check shows its one "not done yet" line;
- one exercise answered by typing into the cell's editor, run with Shift+Enter, then its check: ✔;
- every solution notebook: Run All, and every figure it stores is rendered as an image;
- one Korean student notebook: Run All, and its checks speak Korean.

JupyterLab runs from this environment on 127.0.0.1 (random port and token) over a copy of the course,
with a student's kernels (not graded); Chromium is driven by Playwright through `executable_path`
(Playwright's own browser download is not needed). Heavy: runs with `--heavy`. Without a Chromium the
tests skip with the reason, unless PTCOURSE_REQUIRE_BROWSER=1 (set by CI), which makes that a failure.
Screenshots of failures go to `test-artifacts/browser/`.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from ptcourse.checks import mode
from ptcourse.tools.conventions import CHECK, tags
from ptcourse.tools.framing import PROGRESS_ID
from ptcourse.tools.repo import NOTEBOOKS, REPO, SOLUTIONS, lessons
from ptcourse.tools.translate import EDITIONS, edition_folders

pytestmark = pytest.mark.heavy

REQUIRE = os.environ.get("PTCOURSE_REQUIRE_BROWSER") == "1"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]
ARTIFACTS = REPO / "test-artifacts" / "browser"
NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"
RUN_S = int(os.environ.get("PTCOURSE_BROWSER_RUN_S", 420))  # one notebook's Run All, on a busy 2-core machine
SETTINGS = {  # JupyterLab user settings: every cell in the page, no autosave, no news from the internet
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
}


def unavailable(reason: str):
    if REQUIRE:
        pytest.fail(f"{reason} (PTCOURSE_REQUIRE_BROWSER=1: the browser tests must run)")
    pytest.skip(reason)


def chromium() -> str | None:
    for name in (os.environ.get("PTCOURSE_CHROMIUM"), *CHROMIUM_NAMES):
        if name and (path := shutil.which(name)):
            return path
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Lab:
    url: str
    token: str
    root: Path

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shut_down_kernels(self) -> None:
        for kernel in self.api("/api/kernels"):
            self.api(f"/api/kernels/{kernel['id']}", method="DELETE")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab over a copy of the course (notebooks/, solutions/, data/), with a student's kernels."""
    if chromium() is None:
        unavailable("no Chromium found (apt-get install chromium, or set PTCOURSE_CHROMIUM)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        unavailable("Playwright is not installed (pip install -r requirements.txt)")
    home = tmp_path_factory.mktemp("lab")
    root = home / "course"
    for folder in ("notebooks", "solutions", "data", *EDITIONS):
        if (REPO / folder).is_dir():
            shutil.copytree(REPO / folder, root / folder)
    for name, values in SETTINGS.items():
        (home / "settings" / name).parent.mkdir(parents=True, exist_ok=True)
        (home / "settings" / name).write_text(json.dumps(values))
    env = {k: v for k, v in os.environ.items() if k != mode.GRADED_ENV}  # a student's kernels
    env.update(JUPYTERLAB_SETTINGS_DIR=str(home / "settings"), JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), IPYTHONDIR=str(home / "ipython"))
    port, token = free_port(), secrets.token_hex(16)
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = open(home / "server.log", "wb")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    lab = Lab(f"http://127.0.0.1:{port}", token, root)
    deadline = time.monotonic() + 180
    while True:
        try:
            lab.api("/api/status")
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("JupyterLab did not start:\n" + (home / "server.log").read_text()[-3000:])
            time.sleep(1)
    yield lab
    with contextlib.suppress(OSError):
        lab.shut_down_kernels()
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chrome = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        yield chrome
        chrome.close()


@pytest.fixture
def page(browser, lab):
    """A fresh page in a context of its own; the kernels it started are shut down afterwards."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()
    with contextlib.suppress(OSError):
        lab.shut_down_kernels()


@contextlib.contextmanager
def screenshot_on_failure(page, name: str):
    """On a failure inside, keep a full-page screenshot `test-artifacts/browser/<name>.png`, then re-raise."""
    try:
        yield
    except BaseException:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(Exception):
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        raise


def open_notebook(page, lab: Lab, path: str) -> None:
    workspace = secrets.token_hex(4)  # a workspace of its own: no tab restored from an earlier test
    page.goto(f"{lab.url}/lab/workspaces/w{workspace}/tree/{path}?token={lab.token}")
    # The kernel has started (the status bar says "Python 3 (ipykernel) | Idle"), not just the page.
    page.locator("#jp-main-statusbar", has_text=re.compile(r"\| Idle")).wait_for(timeout=240_000)


def restart_and_run_all(page) -> None:
    """Kernel → Restart Kernel and Run All Cells… → Restart; wait until every code cell has run."""
    page.click("#jp-MainMenu >> text=Kernel")
    page.click(".lm-Menu-itemLabel >> text=Restart Kernel and Run All Cells…")
    page.click(".jp-Dialog .jp-mod-accept")
    wait_until_every_cell_ran(page)


def prompts(page) -> list[str]:
    """The input prompts shown (`[3]:`); the setup cell's input is folded, so its prompt is empty."""
    return page.locator(f"{NOTEBOOK} .jp-CodeCell .jp-InputPrompt:visible").all_inner_texts()


def wait_until_every_cell_ran(page, timeout: float = RUN_S) -> None:
    """Until every shown prompt has a number and the highest is the number of code cells (a restarted
    kernel counts from 1, so then every cell, the folded one too, has run), with the kernel idle."""
    deadline = time.monotonic() + timeout
    time.sleep(1)  # the restart clears the prompts first
    cells = page.locator(f"{NOTEBOOK} .jp-CodeCell").count()
    while True:
        shown = [p.strip() for p in prompts(page)]
        numbers = [int(p[1:-2]) for p in shown if re.fullmatch(r"\[\d+\]:", p)]
        # A folded input (the setup cell) shows an empty prompt; every other one must show a number.
        if numbers and len(numbers) + shown.count("") == len(shown) and max(numbers) == cells:
            idle = page.locator(f"{NOTEBOOK} .jp-Notebook-ExecutionIndicator[data-status='idle']")
            if idle.count():
                return
        if time.monotonic() > deadline:
            indicators = page.locator(f"{NOTEBOOK} .jp-Notebook-ExecutionIndicator").evaluate_all(
                "els => els.map(e => e.outerHTML.slice(0, 300))")
            raise AssertionError(f"Run All did not reach the last of {cells} cells in {timeout:g} s: prompts {shown}; "
                                 f"execution indicators {indicators}")
        time.sleep(1)


def save(page, file: Path) -> nbformat.NotebookNode:
    """Save with Ctrl+S (autosave is off) and read back what JupyterLab wrote."""
    before = file.stat().st_mtime_ns
    page.locator(f"{NOTEBOOK} .jp-Notebook").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 60
    while file.stat().st_mtime_ns == before:
        if time.monotonic() > deadline:
            raise AssertionError(f"{file.name} was not saved")
        time.sleep(0.5)
    time.sleep(1)
    return nbformat.read(file, as_version=4)


@pytest.mark.parametrize("name", [p.name for p in lessons(NOTEBOOKS)])
def test_run_all_on_the_untouched_student_notebook_reaches_the_end(lab, page, name):
    with screenshot_on_failure(page, f"student_{name}"):
        open_notebook(page, lab, f"notebooks/{name}")
        restart_and_run_all(page)
        nb = save(page, lab.root / "notebooks" / name)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "a code cell never ran"
    errors = [(c.id, o.ename) for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"cells show errors: {errors}"
    for cell in code:
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        if CHECK in tags(cell):
            number = cell.metadata["course"]["exercise"]
            assert re.fullmatch(rf"◌ Exercise {re.escape(number)} — .*: not done yet\. .*\n", text), (cell.id, text)
        elif cell.id == PROGRESS_ID:
            assert "0 of" in text and "not done yet" in text, text


ANSWER = """\
# Exercise 1.3 — count_parameters
def count_parameters(model, trainable_only=False):
    params = [p for p in model.parameters() if p.requires_grad or not trainable_only]
    return sum(p.numel() for p in params)
"""


def test_an_answer_typed_into_the_editor_passes_its_check(lab, page):
    with screenshot_on_failure(page, "typed_answer"):
        open_notebook(page, lab, "notebooks/01_nn_module.ipynb")
        restart_and_run_all(page)
        cell = page.locator(f"{NOTEBOOK} .jp-CodeCell").filter(has_text="# Exercise 1.3")
        editor = cell.locator(".cm-content")
        editor.click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(ANSWER)
        assert "p.requires_grad or not trainable_only" in editor.inner_text()
        page.keyboard.press("Shift+Enter")  # runs the exercise cell, selects the check cell below
        page.keyboard.press("Shift+Enter")  # runs the check
        check = page.locator(f"{NOTEBOOK} .jp-CodeCell").filter(has_text="check.count_parameters(count_parameters)")
        check.locator(".jp-OutputArea-output", has_text="✔ Exercise 1.3 passed").wait_for(timeout=120_000)


@pytest.mark.parametrize("name", [p.name for p in lessons(SOLUTIONS)])
def test_every_figure_of_a_solution_is_rendered(lab, page, name):
    stored = nbformat.read(SOLUTIONS / name, as_version=4)
    figures = sum(1 for c in stored.cells if c.cell_type == "code" for o in c.outputs
                  if o.output_type in ("display_data", "execute_result") and any(k.startswith("image/") for k in o.data))
    with screenshot_on_failure(page, f"solution_{name}"):
        open_notebook(page, lab, f"solutions/{name}")
        restart_and_run_all(page)
        images = page.locator(f"{NOTEBOOK} .jp-OutputArea-output img")
        deadline = time.monotonic() + 60
        while images.count() < figures and time.monotonic() < deadline:
            time.sleep(0.5)
        assert images.count() == figures, f"{images.count()} images rendered, {figures} stored"
        sizes = images.evaluate_all("imgs => imgs.map(i => [i.complete, i.naturalWidth])")
        assert all(done and width > 0 for done, width in sizes), sizes
        errors = page.locator(f"{NOTEBOOK} .jp-OutputArea-output", has_text="Traceback (most recent call last)")
        assert errors.count() == 0, "a cell shows a traceback"


HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.mark.parametrize("language", EDITIONS)
def test_a_notebook_of_another_edition_runs_and_speaks_its_language(lab, page, language):
    name = lessons(edition_folders(language)[1])[1].name  # lesson 01: three checks
    with screenshot_on_failure(page, f"{language}_{name}"):
        open_notebook(page, lab, f"{language}/notebooks/{name}")
        restart_and_run_all(page)
        nb = save(page, lab.root / language / "notebooks" / name)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code) and not [o for c in code for o in c.outputs if o.output_type == "error"]
    for cell in code:
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        if CHECK in tags(cell) or cell.id == PROGRESS_ID:
            assert HANGUL.search(text) and "not done yet" not in text, (cell.id, text)
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert all(HANGUL.search(source) for source in markdown[:3]), markdown[:3]
