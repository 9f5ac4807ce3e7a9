from training.config import DedupConfig
from training.dedup import clusters, near_duplicate_pairs, shingles


def test_exact_and_near_duplicates_found_and_distinct_kept_apart() -> None:
    texts = [
        "Saudi Arabia and Iran agreed to reopen embassies within two months, officials said.",
        "Saudi Arabia and Iran agreed to reopen embassies within two months, officials said!",
        "saudi arabia and iran agreed to reopen embassies within two months officials said on Friday",
        "The Arab League suspended Syria's membership in 2011 after a crackdown on protests.",
        "",
    ]
    pairs = near_duplicate_pairs(texts, DedupConfig(threshold=0.8), seed=1)
    assert (0, 1) in pairs and (0, 2) in pairs
    assert not any(3 in p or 4 in p for p in pairs)
    assert clusters(len(texts), pairs).tolist() == [0, 0, 0, 3, 4]


def test_result_does_not_depend_on_seed_for_clear_cases() -> None:
    texts = ["a b c d e f g", "a b c d e f g", "x y z w v u t"]
    for seed in (0, 1, 2):
        assert near_duplicate_pairs(texts, DedupConfig(), seed) == [(0, 1)]
    assert shingles("A b", 3) == {"a b"}


def test_band_keys_in_chunks_and_spilled_to_disk_find_the_same_candidates(tmp_path) -> None:
    from training.dedup import BandKeys

    texts = [f"the envoy met officials in city number {i % 7} to discuss reopening the embassy" for i in range(40)]
    texts += ["an unrelated sentence about the weather", ""]
    whole = BandKeys(DedupConfig(), seed=5)
    whole.add(texts)
    spilled = BandKeys(DedupConfig(), seed=5, spill=tmp_path / "keys")
    for start in range(0, len(texts), 9):
        spilled.add(texts[start : start + 9])
    assert (tmp_path / "keys").stat().st_size == 4 * DedupConfig().bands * (len(texts))
    found = whole.candidates()
    assert found == spilled.candidates()
    assert (0, 7) in found and not any(len(texts) - 1 in p for p in found)
