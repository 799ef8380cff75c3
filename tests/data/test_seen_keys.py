"""SeenKeys: the first row of each natural key, across its growth, in little memory."""

from app.core.seen import START, SeenKeys


def test_each_key_answers_its_first_row_across_growth() -> None:
    seen = SeenKeys()
    count = START * 3  # grows twice
    for row in range(2, count + 2):
        assert seen.first((row % 7, f"A-{row}"), row) == row
    assert len(seen) == count
    for row in range(2, count + 2, 97):
        assert seen.first((row % 7, f"A-{row}"), row + 10**6) == row
    assert seen.first((1, None), 5) == 5 and seen.first((1, None), 6) == 5
    assert len(seen) == count + 1


def test_a_million_keys_fit_in_48_mb() -> None:
    seen = SeenKeys()
    for row in range(1, 200_001):
        seen.first(("zoo", row), row)
    size = seen._digests.itemsize * len(seen._digests) + seen._rows.itemsize * len(seen._rows)
    assert size <= 48 * 2**20 / 5  # a fifth of the keys, a fifth of the bound
