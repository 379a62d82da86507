"""The EDTF date parser of the write path beside the ``edtf`` package it is tested against.

Prints dates parsed per second (median of five turns, each over the same 20,000 day dates and as many
open intervals, no cache): the service's ``events.dates.EdtfDate`` and ``edtf.parse_edtf``, in one run.

    python bench/dates.py
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from events.dates import EdtfDate  # noqa: E402


def rate(parse, texts: list[str]) -> float:
    turns = []
    for _ in range(5):
        began = time.perf_counter()
        for text in texts:
            parse(text)
        turns.append(len(texts) / (time.perf_counter() - began))
    return statistics.median(turns)


def main() -> None:
    days = [(dt.date(2020, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(20_000)]
    texts = days + [day + "/.." for day in days]
    ours = rate(EdtfDate, texts)
    print(f"events.dates.EdtfDate: {ours:,.0f} dates/s")
    try:
        from edtf import parse_edtf
    except ImportError:
        print("edtf (the test oracle) is not installed: pip install -e '.[test]'")
        return
    theirs = rate(parse_edtf, texts[:2000])  # far slower: a tenth of the texts is enough
    print(f"edtf.parse_edtf:       {theirs:,.0f} dates/s  ({ours / theirs:,.0f}x)")


if __name__ == "__main__":
    main()
