"""Typed settings (issue 13, item 5): one clear error per bad value, naming the file and key.

Each case writes a bad overlay (or sets a bad PULSE_* variable) and checks the ConfigError says
where and what; the CLI test at the end checks the same reaches the user as one line, exit 2.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from common.config import ConfigError, Settings, load_settings

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PULSE_CONFIG", "PULSE_DATA_DIR", "PULSE_BACKFILL_DAYS", "PULSE_SPACY_MODEL", "PULSE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(REPO)


def overlay(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "overlay.toml"
    path.write_text(text)
    return path


def test_the_committed_configs_load_typed() -> None:
    settings = load_settings()
    assert isinstance(settings, Settings)
    assert settings.data_dir == REPO / "data" and settings.config_dir == REPO / "config"
    assert isinstance(settings.news.per_host_delay_s, float) and settings.news.feeds[0].url.startswith("http")
    assert isinstance(settings.reddit.subreddits, tuple)
    assert settings.relevance.channels == settings.reddit.subreddits  # the documented default
    demo = load_settings("config/demo.toml")
    assert demo.data_dir == REPO / "data" / "demo" and demo.backfill_days == 14


@pytest.mark.parametrize(("text", "message"), [
    ('[news]\nper_host_delay_s = "fast"\n', "[news] per_host_delay_s: expected a number, got 'fast'"),
    ("[reddit]\nmax_requests_per_run = 1.5\n", "[reddit] max_requests_per_run: expected an integer, got 1.5"),
    ('[reddit]\nenabled = "maybe"\n', "[reddit] enabled: expected true or false, got 'maybe'"),
    ("[reddit]\nsubreddits = [1]\n", "[reddit] subreddits[0]: expected a string, got 1"),
    ('[news]\nfeeds = [{ name = "x" }]\n', "[news] feeds[0].url: missing (required)"),
    ("[pipeline]\nlookback_hours = \"a day\"\n", "[pipeline] lookback_hours: expected an integer"),
    ("[news]\nmax_retries = -1\n", "[news] max_retries must be >= 0"),
    ("[nlp]\nmax_text_chars = 5\n", "[nlp] max_text_chars must be within 1000..1000000"),
    ("[report]\nperiod_days = 0\n", "[report] period_days must be within 1..366"),
])
def test_bad_value_names_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = overlay(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    assert str(exc.value).startswith(f"{path}: "), exc.value
    assert message in str(exc.value)


def test_unknown_keys_and_sections_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"overlay.toml: \[news\] unknown key\(s\) bogus, per_host_delay"):
        load_settings(overlay(tmp_path, "[news]\nbogus = 1\nper_host_delay = 2\n"))
    with pytest.raises(ConfigError, match=r"overlay.toml: unknown section \[nws\]"):
        load_settings(overlay(tmp_path, "[nws]\nenabled = false\n"))


def test_several_bad_values_are_all_reported(tmp_path: Path) -> None:
    path = overlay(tmp_path, '[news]\nper_host_delay_s = "fast"\nmax_bytes = "big"\n')
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    assert "per_host_delay_s: expected a number" in str(exc.value)
    assert "max_bytes: expected an integer" in str(exc.value)
    assert "\n" not in str(exc.value)


def test_a_range_error_names_the_file_that_set_the_value(tmp_path: Path) -> None:
    path = overlay(tmp_path, "[quality]\nvolume_low = 5.0\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    assert str(exc.value).startswith(f"{path}, config/pipeline.toml: [quality] volume_low and volume_high")


@pytest.mark.parametrize(("name", "value", "message"), [
    ("PULSE_BACKFILL_DAYS", "abc", "PULSE_BACKFILL_DAYS=abc: expected an integer"),
    ("PULSE_BACKFILL_DAYS", "-2", "PULSE_BACKFILL_DAYS=-2: "),
])
def test_bad_environment_variable_is_named(monkeypatch: pytest.MonkeyPatch, name: str, value: str,
                                           message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert str(exc.value).startswith(message), exc.value


def test_environment_overrides_apply(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PULSE_BACKFILL_DAYS", "9")
    monkeypatch.setenv("PULSE_SPACY_MODEL", "my_model")
    monkeypatch.setenv("PULSE_DATA_DIR", str(tmp_path / "d"))
    settings = load_settings()
    assert (settings.backfill_days, settings.nlp.spacy_model) == (9, "my_model")
    assert settings.data_dir == tmp_path / "d"


def test_paths_follow_the_project_not_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A non-editable install has the code in site-packages: config/ and data/ come from the
    project the user is in (the nearest folder with config/pipeline.toml, or PULSE_HOME)."""
    project = tmp_path / "proj"
    (project / "config").mkdir(parents=True)
    (project / "config" / "pipeline.toml").write_text('[pipeline]\ndata_dir = "store"\n[report]\ntop_n = 3\n')
    (project / "sub").mkdir()
    monkeypatch.chdir(project / "sub")
    settings = load_settings()
    assert settings.data_dir == project / "store" and settings.config_dir == project / "config"
    assert settings.report.top_n == 3 and settings.report.period_days == 7  # the model's default
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PULSE_HOME", str(project))
    assert load_settings().data_dir == project / "store"


def test_cli_turns_config_errors_into_one_line(tmp_path: Path) -> None:
    path = overlay(tmp_path, '[news]\nper_host_delay_s = "fast"\n')
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    for argv in (["run", "--config", str(path)], ["sql", "SELECT 1", "--config", str(path)],
                 ["report", "--config", str(path)], ["enrich", "x.txt", "--config", str(path)]):
        proc = subprocess.run([sys.executable, "-m", "pipeline.cli", *argv], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, (argv, proc.stderr)
        assert proc.stderr.splitlines() == [
            f"pulse: error: {path}: [news] per_host_delay_s: expected a number, got 'fast'"], argv
