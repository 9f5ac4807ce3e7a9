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
