from pathlib import Path

import pytest
from pydantic import ValidationError
from training.config import DatasetConfig, config_hash, flatten, load_config
from training.errors import StanceError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dataset.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_loads_and_is_frozen() -> None:
    cfg = load_config("configs/dataset.yaml", DatasetConfig)
    assert cfg.split.test == 0.15
    assert "normalize" in cfg.labeling.favor_cues
    with pytest.raises(ValidationError, match="frozen"):
        cfg.seed = 1  # type: ignore[misc]


def test_unknown_key_names_file_line_and_closest_key(tmp_path: Path) -> None:
    path = write(tmp_path, "seed: 1\nsplit:\n  validation: 0.1\n  tset: 0.2\n")
    with pytest.raises(StanceError, match=r"dataset\.yaml:4: unknown key 'split\.tset'; did you mean 'test'\?"):
        load_config(path, DatasetConfig)


def test_wrong_type_names_key_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "seed: 1\ndedup:\n  num_perm: lots\n")
    with pytest.raises(StanceError, match=r"dataset\.yaml:3: invalid value for 'dedup\.num_perm'"):
        load_config(path, DatasetConfig)


def test_invalid_regex_and_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(StanceError, match=r"invalid regular expression"):
        load_config(write(tmp_path, "cleaning:\n  drop_lines: ['(']\n"), DatasetConfig)
    with pytest.raises(StanceError, match=r"invalid YAML in .*dataset\.yaml:2"):
        load_config(write(tmp_path, "seed: 1\n  bad: [\n"), DatasetConfig)
    with pytest.raises(StanceError, match=r"config file not found"):
        load_config(tmp_path / "nope.yaml", DatasetConfig)


def test_hash_changes_with_any_value() -> None:
    a = DatasetConfig()
    b = a.model_copy(update={"seed": a.seed + 1})
    assert config_hash(a) != config_hash(b)
    assert config_hash(a) == config_hash(DatasetConfig())
    flat = flatten(a)
    assert flat["split.test"] == 0.15 and flat["seed"] == a.seed


def test_hash_does_not_depend_on_the_interpreter_hash_seed() -> None:
    import subprocess
    import sys

    code = "from training.config import DatasetConfig, config_hash, load_config; print(config_hash(load_config('configs/dataset.yaml', DatasetConfig)))"
    hashes = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**__import__("os").environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert len(hashes) == 1
