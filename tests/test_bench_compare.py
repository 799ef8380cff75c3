"""`python -m bench.run --compare A.json B.json`: ratios side by side, and the per-zoo
endpoints judged on keeping 0.8 of their ratio in the larger registry."""

import json
from pathlib import Path

from bench.run import compare


def result(path: Path, title: str, ratios: dict[str, float]) -> Path:
    rows = [{"endpoint": name, "ratio": ratio} for name, ratio in ratios.items()]
    other_workers = {"title": "2 workers", "workers": 2, "rows": []}
    data = {"reports": [other_workers, {"title": title, "workers": 1, "rows": rows}]}
    path.write_text(json.dumps(data))
    return path


def test_a_per_zoo_endpoint_that_keeps_its_ratio_passes(tmp_path: Path) -> None:
    base = result(tmp_path / "l.json", "size L", {"concerns_cached": 1.0, "ranking": 0.4})
    other = result(tmp_path / "xl.json", "size XL", {"concerns_cached": 0.85, "ranking": 0.1})
    table, ok = compare(base, other)
    assert ok  # the ranking covers every zoo: its ratio may fall, and is not judged here
    assert "size L" in table and "size XL" in table
    line = next(x for x in table.splitlines() if x.startswith("concerns_cached"))
    assert "0.85" in line and "PASS" in line
    assert "PASS" not in next(x for x in table.splitlines() if x.startswith("ranking"))


def test_a_per_zoo_endpoint_that_slows_with_the_registry_fails(tmp_path: Path) -> None:
    base = result(tmp_path / "l.json", "L", {"zoo_page": 0.25, "animal_concerns": 0.3})
    other = result(tmp_path / "xl.json", "XL", {"zoo_page": 0.19, "animal_concerns": 0.3})
    table, ok = compare(base, other)
    assert not ok
    assert "FAIL" in next(x for x in table.splitlines() if x.startswith("zoo_page"))
