"""Bytes allocated per line of one script, from a memray capture.

Run by the peers' interpreter (it imports memray):
``python memray_lines.py CAPTURE.bin SCRIPT.py`` prints ``{lineno: bytes}``
as JSON. Frees and unmaps are not allocations; an allocation belongs to the
innermost frame of its Python stack that is in the script (np.ones
allocates inside numpy, called from the script's line).
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter

from memray import AllocatorType, FileReader  # type: ignore[import-not-found]  # the peers venv has it

RELEASES = {AllocatorType.FREE, AllocatorType.MUNMAP}


def main(capture: str, script: str) -> None:
    """Print the per-line byte totals of ``script`` in ``capture``."""
    real = os.path.realpath(script)
    per_line: Counter[int] = Counter()
    for record in FileReader(capture).get_allocation_records():
        if record.allocator in RELEASES:
            continue
        for _function, filename, lineno in record.stack_trace():
            if os.path.realpath(filename) == real:
                per_line[lineno] += record.size
                break
    json.dump(dict(per_line), sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
