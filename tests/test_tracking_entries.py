"""MLflow entries built from plain data: dataset inputs through MLflow's public dataset API."""

from __future__ import annotations

from training.tracking import schema
from training.tracking.entries import MAX_DIGEST_CHARS, dataset_inputs


def test_dataset_inputs_carry_name_digest_context_and_schema() -> None:
    frames = schema.dataset_frames(
        {"text": ["a", "b"], "label": ["favor", "against"], "doc_id": ["d1", "d2"]},
        {"text": ["c"], "label": ["neutral"], "doc_id": ["d3"]},
    )
    fingerprint = "0123456789abcdef" * 4
    inputs = dataset_inputs(frames, fingerprint, "")
    assert [d.dataset.name for d in inputs] == [schema.TRAINING_INPUT, schema.TESTING_INPUT]
    assert {d.dataset.digest for d in inputs} == {fingerprint[:MAX_DIGEST_CHARS]}
    assert [[(t.key, t.value) for t in d.tags] for d in inputs] == [
        [("mlflow.data.context", "training")],
        [("mlflow.data.context", "testing")],
    ]
    assert '"text"' in inputs[0].dataset.schema and inputs[0].dataset.source_type
