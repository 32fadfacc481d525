"""Reading a project changes nothing in it, even while its search runs: evaluate, export and report open it
read-only, say that a search is running, work on the finished trials, and the search goes on undisturbed."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from processes import PAUSING_MODULE, wait_for
from typer.testing import CliRunner

from kerastune.app.cli import app

runner = CliRunner()

def checksums(folder: Path) -> dict[str, str]:
    """Every file under `folder` and a hash of its content."""
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def test_reading_a_project_mid_trial_changes_no_file_and_the_search_goes_on(tiny_npz: Path, tmp_path: Path,
                                                                            monkeypatch) -> None:
    (tmp_path / "pausing_second.py").write_text(PAUSING_MODULE)
    monkeypatch.chdir(tmp_path)  # the hypermodel reference is imported from here by evaluate and export too
    monkeypatch.setenv("PAUSE_FILE", str(tmp_path / "paused"))
    monkeypatch.setenv("GO_FILE", str(tmp_path / "go"))
    monkeypatch.setenv("PAUSE_FIT", "2")  # the second trial pauses in its first epoch
    monkeypatch.delitem(sys.modules, "pausing_second", raising=False)
    project = tmp_path / "tuning" / "p"
    search = subprocess.Popen(
        [sys.executable, "-m", "kerastune", "random", "pausing_second:Net", "--data", str(tiny_npz), "--name", "p",
         "--max-trials", "3", "--epochs", "2", "--workers", "1", "--json", str(tmp_path / "s.json")],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_for(lambda: (tmp_path / "paused").exists(), 120, "the second trial to pause in its training")
        assert (project / "logs" / "1").is_dir()  # the running trial's TensorBoard logs, which must survive
        before = checksums(project)

        evaluation = runner.invoke(app, ["evaluate", str(project), "--json", str(tmp_path / "e.json")])
        assert evaluation.exit_code == 0, evaluation.output
        assert f"A search is running on {project}: these are the best of its trials finished so far." \
            in evaluation.stdout
        evaluated = json.loads((tmp_path / "e.json").read_text())
        assert evaluated["search_running"] and [m["trial_id"] for m in evaluated["models"]] == ["0"]

        report = runner.invoke(app, ["report", str(project), "--format", "json"])
        assert report.exit_code == 0, report.output
        assert json.loads(report.stdout)["running"]

        exported = runner.invoke(app, ["export", str(project), "--output", str(tmp_path / "m.keras")])
        assert exported.exit_code == 0, exported.output
        assert "exporting the best of its trials finished so far" in exported.stdout

        assert checksums(project) == before
    finally:
        (tmp_path / "go").write_text("go")
        sys.modules.pop("pausing_second", None)
    out, err = search.communicate(timeout=300)
    assert search.returncode == 0, err
    summary = json.loads((tmp_path / "s.json").read_text())
    assert (summary["trials_finished"], summary["completed"]) == (3, 3)
    assert list((project / "logs" / "1" / "execution0" / "validation").iterdir())  # its whole run was logged
