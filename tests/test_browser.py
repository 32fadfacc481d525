"""The pages a user opens, seen in headless Chromium: TensorBoard's HParams view of a project (finished, and while
its search runs) and optuna-dashboard's study page.

Skipped where no Chromium is installed (Debian: `apt-get install chromium`; `.ci/run` installs it). Each test keeps
a screenshot of the page in test-artifacts/ (or $KERASTUNE_TEST_ARTIFACTS).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from processes import Lines, wait_for

from kerastune.tuners.integrations import optional

CHROMIUM = optional.chromium()
# As root, on a machine with no network: no sandbox, and none of Chromium's own connections
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(os.environ.get("KERASTUNE_TEST_ARTIFACTS", Path(__file__).resolve().parent.parent / "test-artifacts"))
TRIALS = 3

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium to open the pages in: install Debian's "
                                f"chromium package ({optional.CHROMIUM_INSTALL}), as .ci/run does")


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser) -> Iterator:
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    yield page
    page.close()


def search(tiny_npz: Path, folder: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "kerastune", "random", "mlp", "--data", str(tiny_npz), "--dir", str(folder),
         "--name", "run",
         "--max-trials", str(TRIALS), "--epochs", "2", "--workers", "1", "--quiet", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def finished(tiny_npz: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("browser")
    process = search(tiny_npz, folder)
    _, errors = process.communicate(timeout=300)
    assert process.returncode == 0, errors
    return folder / "run"


class Dashboard:
    """`kerastune dashboard PROJECT --port 0 [more]` in a process of its own; `url` is the address it printed."""

    def __init__(self, project: Path, *more: str) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "kerastune", "dashboard", str(project), "--port", "0",
                                         *more], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = Lines(self.process.stdout).wait_for(lambda line: "http://" in line, 120, "the dashboard's address")
        self.url = "http" + line.split(": http", 1)[1].split(" ")[0]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def trial_files(project: Path) -> dict[str, dict]:
    files = [json.loads(path.read_text()) for path in project.glob("trial_*/trial.json")]
    return {file["trial_id"]: file for file in files}


def hparams_table(page) -> dict[str, dict[str, str]]:
    """TensorBoard's HParams table view as the page shows it: {trial: {column: text}}, with every hyperparameter's
    column shown (TensorBoard shows the first few; the others are ticked in its side panel, as a user does)."""
    page.wait_for_selector("tf-hparams-table-view >> text=Trial ID", timeout=60_000)
    for box in page.locator("tf-hparams-query-pane paper-checkbox.hparam-checkbox").all():
        if box.get_attribute("aria-checked") == "false":
            box.click()
    page.wait_for_timeout(500)  # the table redraws with the columns ticked
    table = page.evaluate("""() => {
        const find = (n, name) => { if (n.nodeName === name) return n;
            for (const c of [n.shadowRoot, ...(n.children || [])]) { const f = c && find(c, name); if (f) return f; }
            return null; };
        const text = (n) => { const out = [];
            const walk = (m) => { if (['STYLE', 'SCRIPT'].includes(m.nodeName)) return;
                                  if (m.shadowRoot) walk(m.shadowRoot);
                                  for (const c of m.childNodes) {
                                      if (c.nodeType === 3) { if (c.data.trim()) out.push(c.data.trim()); }
                                      else walk(c); } };
            walk(n); return out.join(' '); };
        // a grid cell shows the element its slot is given
        const cell = (td) => { const slot = td.querySelector('slot');
                               return slot ? slot.assignedElements({flatten: true}).map(text).join(' ') : text(td); };
        const grid = find(find(document.body, 'TF-HPARAMS-TABLE-VIEW'), 'VAADIN-GRID').shadowRoot;
        return {columns: [...grid.querySelector('thead tr').children].map(cell),
                rows: [...grid.querySelectorAll('tbody tr')].filter(tr => !tr.hidden)
                                                          .map(tr => [...tr.children].map(cell))}; }""")
    rows = [dict(zip(table["columns"], row, strict=False)) for row in table["rows"]]
    return {row["Trial ID"]: row for row in rows if row.get("Trial ID")}


def shown(value: object, text: str) -> bool:
    """Whether TensorBoard's rendering of a number (5 significant digits) or a word is this value."""
    if isinstance(value, str):
        return text == value
    return math.isclose(float(text), float(value), rel_tol=1e-4)


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / name, full_page=True)


@pytest.mark.timeout(300)
def test_the_hparams_view_lists_every_trial_with_its_hyperparameters_and_score(finished: Path, page) -> None:
    dashboard = Dashboard(finished)
    try:
        page.goto(dashboard.url)
        rows = hparams_table(page)
        while len(rows) < TRIALS or not all(row.get("best_score") for row in rows.values()):
            page.wait_for_timeout(2000)  # TensorBoard still reading the logs: the test's time limit bounds this
            page.reload()
            rows = hparams_table(page)
        screenshot(page, "tensorboard-hparams.png")
    finally:
        dashboard.stop()
    files = trial_files(finished)
    assert len(files) == TRIALS and set(rows) == {str(int(trial_id)) for trial_id in files}
    for trial_id, file in files.items():
        row = rows[str(int(trial_id))]
        for name, value in file["hyperparameters"]["values"].items():
            assert shown(value, row[name]), (trial_id, name, value, row)
        assert shown(file["score"], row["best_score"]), (trial_id, file["score"], row)  # kerastune's: best epoch's
        last = json.loads((finished / f"trial_{trial_id}" / "history.json").read_text())["epochs"][-1]
        assert shown(last["val_accuracy"], row["validation.epoch_accuracy"]), (trial_id, last, row)  # the last's
    assert len({row["learning_rate"] for row in rows.values()}) == TRIALS  # three configurations, not one repeated


@pytest.mark.timeout(360)
def test_new_trials_appear_on_reload_while_the_search_runs(tiny_npz: Path, tmp_path: Path, page) -> None:
    """The search is paused (SIGSTOP) with a trial finished and the next under way, the page loads, the search goes
    on to its end, and a reload lists every trial."""
    from kerastune.tuners.integrations.optuna_storage import write_storage

    process = search(tiny_npz, tmp_path, "--max-trials", "4")
    project = tmp_path / "run"
    dashboard = None
    try:
        wait_for(lambda: {"COMPLETED", "RUNNING"} <= {f["status"] for f in trial_files(project).values()}, 240,
                 "a trial finished and the next under way")
        process.send_signal(signal.SIGSTOP)
        dashboard = Dashboard(project)
        page.goto(dashboard.url)
        before = hparams_table(page)
        write_storage(project)  # the Optuna study, too, while the search runs
        during = {t.user_attrs["kerastune_trial_id"]: t.state.name for t in load_study(project).trials}
        process.send_signal(signal.SIGCONT)
        _, errors = process.communicate(timeout=240)
        assert process.returncode == 0, errors

        def all_listed() -> bool:  # TensorBoard reads new event files every few seconds: reload until it has
            page.reload()
            rows = hparams_table(page)
            return len(rows) == 4 and all(row.get("best_score") for row in rows.values())

        wait_for(all_listed, 120, "the HParams view to list the 4 trials and their scores after a reload")
        after = hparams_table(page)
        screenshot(page, "tensorboard-hparams-after-reload.png")
    finally:
        process.kill()
        if dashboard is not None:
            dashboard.stop()
    assert 1 <= len(before) < 4 and set(before) < set(after), (before, after)
    files = trial_files(project)
    for trial_id, file in files.items():
        assert shown(file["score"], after[str(int(trial_id))]["best_score"])
    # the Optuna study follows the search: a trial running then is complete now, in the same study
    assert {"COMPLETE", "RUNNING"} <= set(during.values()), during
    study_id = load_study(project)._study_id
    write_storage(project)
    study = load_study(project)
    assert study._study_id == study_id and len(study.trials) == 4
    assert {t.state.name for t in study.trials} == {"COMPLETE"}


def load_study(project: Path):
    import optuna

    from kerastune.tuners.integrations.optuna_storage import storage_url, study_name

    return optuna.load_study(study_name=study_name(project), storage=storage_url(project))


@pytest.mark.timeout(240)
def test_optuna_dashboard_shows_the_study(finished: Path, tmp_path: Path, page) -> None:
    project = tmp_path / "run"
    shutil.copytree(finished, project)
    best = max(trial_files(project).values(), key=lambda file: file["score"])
    dashboard = Dashboard(project, "--optuna")
    try:
        page.goto(dashboard.url)
        page.wait_for_selector("text=Best Trial", timeout=60_000)
        page.wait_for_selector("text=Hyperparameter Importance", timeout=60_000)
        # the headings come first; the trials once the page has fetched them (slower on a busy machine)
        page.wait_for_function(f"document.body.innerText.includes({str(best['score'])[:6]!r})", timeout=60_000)
        body = page.inner_text("body")
        screenshot(page, "optuna-dashboard.png")
    finally:
        dashboard.stop()
    assert "run" in body and str(best["score"])[:6] in body, body[:2000]
    study = load_study(project)
    assert len(study.trials) == TRIALS and study.best_value == best["score"]
