"""Trusted types: derived from the classes, the costly ones worked out only when a file names them."""

from __future__ import annotations

import subprocess
import sys

from training.persistence.trust import common_types, trusted_types, type_name, untrusted


def test_a_type_is_named_by_its_module_and_qualified_name() -> None:
    from sklearn.pipeline import Pipeline

    class Inner:
        pass

    assert type_name(Pipeline) == "sklearn.pipeline.Pipeline"
    assert type_name(Inner) == f"{__name__}.test_a_type_is_named_by_its_module_and_qualified_name.<locals>.Inner"


def test_library_names_follow_where_the_library_defines_the_class() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.utils import Bunch

    names = trusted_types()
    assert names == sorted(set(names))
    assert f"{LogisticRegression.__module__}.LogisticRegression" in names
    assert f"{Bunch.__module__}.Bunch" in names
    assert "sklearn.linear_model.LogisticRegression" not in names  # the public path is not what skops records


def test_only_names_outside_every_trusted_set_are_untrusted() -> None:
    names = ["sklearn.pipeline.Pipeline", "os.system", "training.rules.RuleClassifier", "builtins.eval"]
    assert untrusted([*names, "sklearn.calibration._TemperatureScaling"]) == ["builtins.eval", "os.system"]
    assert "training.rules.RuleClassifier" not in common_types()


def test_a_file_of_common_types_only_imports_neither_the_rules_nor_pydantic() -> None:
    code = (
        "import sys; from training.persistence.trust import untrusted; "
        "assert untrusted(['sklearn.pipeline.Pipeline', 'training.classifiers.estimators.TextColumn']) == []; "
        "print(sorted(m for m in ('training.rules', 'pydantic') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
