"""The benchmark keeps working (its figures go to docs/benchmarks.md)."""

import pytest

from benchmarks import reports as bench

pytestmark = pytest.mark.django_db


def test_the_benchmark_prints_a_markdown_table(capsys):
    assert bench.main(["--renders", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## Check-in report rendering (1 warm renders)")
    assert "| **whole report** (render_report: all of the above, stored) |" in out
    assert "with 4 charts (the sample project)" in out
