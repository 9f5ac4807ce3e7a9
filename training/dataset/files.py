"""The files of a built dataset next to its splits: info with digests, LF table, card; and loading it back."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

from training.errors import StanceError

INFO_FILE = "stance_dataset.json"
LF_FILE = "lf_analysis.csv"
CARD_FILE = "README.md"


def is_dataset(folder: Path) -> bool:
    """Whether ``folder`` holds a dataset written by ``build_dataset`` (its info file)."""
    return (folder / INFO_FILE).is_file()


def digests(folder: Path) -> dict[str, str]:
    """sha256 of every file of a built dataset but the info file and the card."""
    from training.persistence import sha256_file

    out = {}
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = f.relative_to(folder).as_posix()
        if rel not in (INFO_FILE, CARD_FILE):
            out[rel] = sha256_file(f)
    return out


def write_info(folder: Path, info: dict[str, Any]) -> None:
    """Write the info file with the digest of every data file, which :func:`load_built` checks."""
    info["files"] = digests(folder)
    (folder / INFO_FILE).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_reports(
    folder: Path, info: dict[str, Any], lf_table: list[dict[str, Any]], counts: dict[str, dict[str, Counter[Any]]]
) -> None:
    """The info file (without digests yet), the labelling-function table and the dataset card."""
    from training.card import render_card

    (folder / INFO_FILE).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    with open(folder / LF_FILE, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(lf_table[0]))
        writer.writeheader()
        writer.writerows(lf_table)
    (folder / CARD_FILE).write_text(render_card(counts, info, lf_table), encoding="utf-8")


def _read_info(path: Path) -> dict[str, Any]:
    """The info file of a built dataset; a missing or invalid one says to rebuild."""
    from training import jsonl

    info_path = path / INFO_FILE
    if not info_path.exists():
        raise StanceError(f"not a stance dataset: {path} has no {INFO_FILE} (run `stance build-dataset` first)")
    info = jsonl.load_file(info_path, "dataset info", "rebuild it with `stance build-dataset`")
    if (
        not isinstance(info, dict)
        or not isinstance(info.get("fingerprint"), str)
        or not isinstance(info.get("files"), dict)
    ):
        raise StanceError(
            f"invalid dataset info: {info_path} lacks its fingerprint or file digests "
            "(rebuild it with `stance build-dataset`)"
        )
    return info


def load_built(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """Load a dataset saved by ``build_dataset`` with its info (fingerprint, config hash)."""
    import datasets

    path = Path(path)
    info = _read_info(path)
    # Files added later are not read (each split names its own data files, and those are digested).
    found = digests(path)
    for name in sorted(info["files"]):
        if info["files"][name] != found.get(name):
            state = "is missing" if name not in found else "was changed"
            raise StanceError(
                f"dataset changed after it was built: {path / name} {state} "
                f"(fingerprint {info['fingerprint'][:16]}; rebuild it with `stance build-dataset`)"
            )
    try:
        return datasets.load_from_disk(str(path)), info
    except Exception as exc:  # datasets raises many types for a damaged folder; the digests passed, so say so
        raise StanceError(f"cannot load the dataset {path}: {exc} (rebuild it with `stance build-dataset`)") from None
