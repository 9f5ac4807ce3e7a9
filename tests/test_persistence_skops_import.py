"""training.persistence.skops_import: skops.io without torch, and the library behaviour it works around."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip()


def test_plain_skops_import_still_imports_torch() -> None:
    """Fails when scikit-learn or skops stop importing torch: then the guard is dead code, remove it."""
    pytest.importorskip("torch")
    out = _python("import sys, skops.io; print('torch' in sys.modules)")
    assert out == "True", (
        "a plain `import skops.io` no longer imports torch: remove training/persistence/skops_import.py"
    )


def test_guard_keeps_torch_out_and_loses_no_estimator_type() -> None:
    """The guarded import leaves torch unimported and skops trusts the same scikit-learn types."""
    pytest.importorskip("torch")
    code = (
        "import sys\n"
        "from training.persistence.skops_import import skops_io\n"
        "sio = skops_io()\n"
        "print('torch' in sys.modules)\n"
        "from sklearn.pipeline import make_pipeline\n"
        "from sklearn.feature_extraction.text import TfidfVectorizer\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "from sklearn.ensemble import HistGradientBoostingClassifier\n"
        "est = [make_pipeline(TfidfVectorizer(), LogisticRegression()), HistGradientBoostingClassifier()]\n"
        "print(sum(len(sio.get_untrusted_types(data=sio.dumps(e))) for e in est))\n"
        "import torch\n"  # importable again once skops is in
        "print(float(torch.ones(2).sum()))\n"
    )
    assert _python(code).splitlines() == ["False", "0", "2.0"]


def test_torch_stays_importable_in_other_threads_and_after() -> None:
    from training.persistence.skops_import import _Deferred

    finder = _Deferred()
    with pytest.raises(ModuleNotFoundError, match=r"torch is not imported while skops\.io loads"):
        finder.find_spec("torch.nn")
    assert finder.find_spec("numpy") is None
    import threading

    seen: list[object] = []
    worker = threading.Thread(target=lambda: seen.append(finder.find_spec("torch")))
    worker.start()
    worker.join()
    assert seen == [None]  # another thread's import is not refused


def test_model_loads_without_torch(tmp_path: Path) -> None:
    """A TF-IDF model saved and loaded through training.persistence, in a process that never imports torch."""
    code = (
        "import sys\n"
        "from sklearn.pipeline import make_pipeline\n"
        "from sklearn.feature_extraction.text import TfidfVectorizer\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "from training.persistence.exports import dump_bytes\n"
        "from training.persistence.loading import load_model_file\n"
        "m = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(['peace talks', 'border closed', 'peace deal', 'closed talks'], [0, 1, 0, 1])\n"
        f"p = {str(tmp_path / 'm.skops')!r}\n"
        "open(p, 'wb').write(dump_bytes(m))\n"
        "print(load_model_file(p).predict(['peace deal']).tolist(), 'torch' in sys.modules)\n"
    )
    assert _python(code) == "[0] False"
