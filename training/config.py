"""Validated, frozen configuration objects loaded once from ``configs/*.yaml``.

Every default lives here; the YAML files override them. An unknown key or a wrong type is
reported as one line naming the file, the line, the key and the closest valid key.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from training.errors import StanceError

DEFAULT_SEED = 42


class Strict(BaseModel):
    """Base for config sections: unknown keys are errors and objects are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CleaningConfig(Strict):
    """Rules that drop page furniture before segmentation."""

    drop_lines: tuple[str, ...] = (
        r"^News code\s*:",
        r"^endNewsMessage\d*$",
        r"^Comments?(\s*\(\d+\))?$",
        r"^Read more\b",
        r"^By [A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*){0,3}$",
        r"^(?:Published|Updated|Last updated)\s*:",
        r"^Share this article$",
        r"^Advertisement$",
        # Author notes on a line of their own: "The writer is a former diplomat ...",
        # "The authors are researchers ...", "The author teaches law in Bogotá."
        r"^The (?:writer|author)s? (?:is|are|was|were|has|have|teaches|taught|writes|wrote|directs|edits|covers|served|works|worked|lives|reports|reported)\b.{0,240}$",
        # Signature under an op-ed: "— Rania Khoury, a columnist based in Dubai"
        r"^[—–] ?[A-Z][\w.'’-]+(?: [A-Z][\w.'’-]+){0,3}, (?:a|an|the) .{3,200}$",
        # Publication notes: "This article first appeared in ...", "A longer version of this essay ran in ..."
        r"^(?:This|A (?:longer|shorter|earlier) version of this) (?:article|essay|column|commentary|op-ed|piece) (?:first |originally )?(?:appeared|ran|was (?:first |originally )?published)\b.{0,200}$",
        # Editor's notes on interviews: "The conversation has been edited for length and clarity."
        r"^(?:(?:The|This|Her|His|Their) )?(?:[Cc]onversation|[Ii]nterview|[Aa]nswers|[Ee]xchange|[Tt]ranscript)(?: below| above)? (?:has|have) been (?:\w+ ){0,2}(?:shortened|condensed|edited|abridged|translated)\b.{0,120}$",
        # Disclaimers and notes about a paper: its series, sources, scope and updates
        r"^The views expressed (?:here |in this \w+ )?are (?:the|those of the) authors?[’']?s?\b.{0,160}$",
        r"^(?:This|The) (?:paper|note|brief|report|analysis|study) (?:belongs to|forms part of|is part of|reflects (?:developments|events)|does not (?:examine|cover|address|discuss))\b.{0,200}$",
        r"^(?:Figures|Data|Sources|Research) (?:in|for) this (?:paper|note|brief|report|analysis|study)\b.{0,200}$",
        r"^Our (?:next|previous) (?:paper|note|brief|report) in (?:this|the) series\b.{0,200}$",
        r"^We will update this (?:paper|note|brief|report|analysis|page)\b.{0,200}$",
        # Press-office sign-off of a statement or readout
        r"^(?:For )?[Mm]edia (?:enquiries|inquiries)\b.{0,160}$",
    )
    strip_prefixes: tuple[str, ...] = (
        # Dateline: "AMMAN, May 3 (Wire) - ", "AMMAN, May 3 - " or "AMMAN - "
        r"^[A-Z][A-Z.'’ -]{1,39}[A-Z.](?:, [A-Z][a-z]{2,8}\.? \d{1,2})?(?: \([^)]{1,30}\))? ?[-–—]{1,2} ",
        # Live-blog timestamp: "09:20 - ", "14.05 GMT: "
        r"^\d{1,2}[:.]\d{2}(?: ?(?:[AaPp]\.?[Mm]\.?|GMT|UTC|local time))?\s*[-–—:|]\s*",
        # Speaker tag in a transcript: "Q: ", "A: ", "MODERATOR: ", "Leila Haddad: "
        r"^(?:Q|A|[A-Z][A-Za-z.'’-]+(?: [A-Z][A-Za-z.'’-]+){0,2})\s?:\s+",
    )
    drop_repeated_title: bool = True

    @field_validator("drop_lines", "strip_prefixes")
    @classmethod
    def _compiles(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for p in patterns:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {p!r}: {exc}") from None
        return patterns


# Titles are abbreviations too; only after a title is a capitalised word never a new sentence.
_TITLES = frozenset(
    [
        "Mr",
        "Mrs",
        "Ms",
        "Dr",
        "Prof",
        "Gen",
        "Lt",
        "Col",
        "Maj",
        "Capt",
        "Sgt",
        "Adm",
        "Cmdr",
        "Sen",
        "Rep",
        "Gov",
        "Amb",
        "Pres",
        "Rev",
        "Hon",
        "St",
        "Mt",
        "No",
        "Nos",
    ]
)


class SegmentationConfig(Strict):
    """Abbreviation lists that keep the segmenter from cutting after ``Gen.`` or ``U.S.``."""

    abbreviations: frozenset[str] = _TITLES | frozenset(
        [
            "Jr",
            "Sr",
            "Art",
            "Vol",
            "Fig",
            "Jan",
            "Feb",
            "Mar",
            "Apr",
            "Jun",
            "Jul",
            "Aug",
            "Sep",
            "Sept",
            "Oct",
            "Nov",
            "Dec",
            "Inc",
            "Ltd",
            "Co",
            "Corp",
            "Bros",
            "vs",
            "etc",
            "approx",
            "est",
            "dept",
            "Ave",
            "Blvd",
            "e.g",
            "i.e",
            "cf",
            "al",
        ]
    )
    titles: frozenset[str] = _TITLES
    sentence_starters: frozenset[str] = frozenset(
        [
            "The",
            "A",
            "An",
            "This",
            "That",
            "These",
            "Those",
            "It",
            "Its",
            "He",
            "She",
            "They",
            "We",
            "I",
            "You",
            "His",
            "Her",
            "Their",
            "Our",
            "But",
            "And",
            "Yet",
            "However",
            "In",
            "On",
            "At",
            "For",
            "After",
            "Before",
            "When",
            "While",
            "Since",
            "As",
            "If",
            "Officials",
            "Critics",
            "Analysts",
            "There",
            "Meanwhile",
            "Still",
            "Even",
            "Many",
            "Some",
            "Most",
            "Both",
            "Neither",
            "Such",
        ]
    )
    min_chars: int = Field(3, ge=1)


class ReaderConfig(Strict):
    """Which files are documents and where annotations and metadata sit."""

    extensions: tuple[str, ...] = (".txt", ".md", ".html", ".htm", ".jsonl", ".csv")
    text_column: str = "text"
    id_column: str = "id"
    gold_suffix: str = ".gold.jsonl"
    metadata_file: str = "metadata.csv"
    agreement_file: str = "agreement.jsonl"


class LabelingConfig(Strict):
    """Cue lexicons for the labelling functions and the choice of label model."""

    favor_cues: tuple[str, ...] = ()
    against_cues: tuple[str, ...] = ()
    negators: tuple[str, ...] = ()
    modal_openers: tuple[str, ...] = ()
    blocking_conditions: tuple[str, ...] = ()
    enabling_conditions: tuple[str, ...] = ()
    contrast_markers: tuple[str, ...] = ()
    exclusion_objections: tuple[str, ...] = ()
    neutral_cues: tuple[str, ...] = ()
    label_model: Literal["auto", "majority", "dawid_skene"] = "auto"
    dawid_skene_iterations: int = Field(50, ge=1)


class DedupConfig(Strict):
    """Near-duplicate detection: MinHash over word shingles, then an exact Jaccard check."""

    shingle_size: int = Field(3, ge=1)
    num_perm: int = Field(64, ge=8)
    bands: int = Field(16, ge=1)
    threshold: float = Field(0.8, gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _bands_divide(self) -> DedupConfig:
        if self.num_perm % self.bands:
            raise ValueError(f"num_perm ({self.num_perm}) must be a multiple of bands ({self.bands})")
        return self


class SplitConfig(Strict):
    """Shares of documents' sentences for validation and test; train takes the rest."""

    validation: float = Field(0.15, gt=0.0, lt=0.5)
    test: float = Field(0.15, gt=0.0, lt=0.5)


class DatasetConfig(Strict):
    """Everything ``stance build-dataset`` reads."""

    seed: int = DEFAULT_SEED
    seeds_dir: str = "seeds"
    out_dir: str = "data/dataset"
    reader: ReaderConfig = ReaderConfig()
    cleaning: CleaningConfig = CleaningConfig()
    segmentation: SegmentationConfig = SegmentationConfig()
    labeling: LabelingConfig = LabelingConfig()
    dedup: DedupConfig = DedupConfig()
    split: SplitConfig = SplitConfig()


C = TypeVar("C", bound=BaseModel)


def _canonical(value: Any) -> Any:
    """Plain JSON data in an order that does not depend on PYTHONHASHSEED (sets are sorted)."""
    if isinstance(value, BaseModel):
        return {name: _canonical(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(_canonical(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


def config_hash(config: BaseModel) -> str:
    """A short stable hash of a config's full content (defaults included)."""
    blob = json.dumps(_canonical(config), sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def flatten(config: BaseModel, prefix: str = "") -> dict[str, Any]:
    """Flatten a config into ``a.b.c -> value`` pairs (lists become compact strings)."""
    out: dict[str, Any] = {}
    for key, value in config.model_dump(mode="json").items():
        _flatten_into(out, f"{prefix}{key}", value)
    return out


def _flatten_into(out: dict[str, Any], key: str, value: Any) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten_into(out, f"{key}.{k}", v)
    elif isinstance(value, list):
        out[key] = json.dumps(sorted(value) if all(isinstance(v, str) for v in value) else value)
    else:
        out[key] = value


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """Follow ``loc`` through a composed YAML tree and return the 1-based line of the key."""
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == str(part):
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _field_names(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Valid keys at the level where ``loc``'s last part sits."""
    current: Any = model
    for part in loc[:-1]:
        is_model = isinstance(current, type) and issubclass(current, BaseModel)
        field = current.model_fields.get(str(part)) if is_model else None
        if field is None or not (isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)):
            return []
        current = field.annotation
    return list(current.model_fields)


def load_config(path: str | Path, model: type[C]) -> C:
    """Read a YAML file into a validated, frozen ``model``; raise :class:`StanceError` on problems."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StanceError(f"config file not found: {path} (pass an existing file with --config)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StanceError(f"cannot read config file {path}: {exc}") from None
    try:
        data = yaml.safe_load(text)
        tree = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise StanceError(f"invalid YAML in {where}: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise StanceError(f"invalid config {path}: the top level must be a mapping of keys to values")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            key = ".".join(str(p) for p in loc)
            line = _line_of(tree, loc)
            where = f"{path}:{line}" if line else str(path)
            if err["type"] == "extra_forbidden":
                close = difflib.get_close_matches(str(loc[-1]), _field_names(model, loc), n=1, cutoff=0.5)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                problems.append(f"{where}: unknown key '{key}'{hint}")
            else:
                problems.append(f"{where}: invalid value for '{key}': {err['msg']}")
        raise StanceError(*problems) from None
