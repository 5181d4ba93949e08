"""Net allocation (Scalene's n_malloc_mb) from drained records, without a
kernel: each line's kept share comes from the fates of the companion blocks
allocated on that line, and from its sampled blocks' own fates when it has
too few companions."""

from __future__ import annotations

from types import CodeType

from scalene_lab.allocator import COMPANION_KEPT, RECORD_ALLOC, RECORD_FREE, RawRecord
from scalene_lab.code_table import CodeTable
from scalene_lab.memory import MemorySampler

TID = 4242
WINDOW = 1 << 20
CELL = "<cell 7>"
SOURCE = "xs = [str(i) * 3 for i in range(9)]\nys = [0] * 9\nzs = bytes(9)\ndef f():\n    a = [str(i) for i in range(9)]\n    b = bytes(9)\n"


def _lasti(code: CodeType, line: int) -> int:
    """A code unit of `line` in `code` (or in the code nested in it)."""
    for start, _end, number in code.co_lines():
        if number == line:
            return start // 2
    raise AssertionError(f"no instruction on line {line}")


class Cell:
    """A compiled cell and a sampler whose user code it is."""

    def __init__(self) -> None:
        self.code = compile(SOURCE, CELL, "exec")
        self.sampler = MemorySampler(WINDOW, 7 * WINDOW, lambda filename: filename == CELL, table=CodeTable([self.code]))
        self.sampler._main_tid = TID  # start() would set it, attaching the real allocator

    def code_of(self, line: int) -> CodeType:
        """The cell's code, or function f's for its body (lines 5-6)."""
        if line < 5:
            return self.code
        return next(c for c in self.code.co_consts if isinstance(c, CodeType) and c.co_name == "f")

    def at(self, line: int) -> tuple[int, int]:
        code = self.code_of(line)
        return (id(code), _lasti(code, line))

    def sample(self, pointer: int, line: int, weight: int = WINDOW, block: int = 64, companions: tuple[int, ...] = (), python: bool = True) -> RawRecord:
        # kind, python, depth, flags, tid, bytes, pointer, time_ns, companion
        # count, block_bytes, thread_cpu_ns, process_cpu_ns, stack, companions
        return (RECORD_ALLOC, int(python), 1, 0, TID, weight, pointer, 0, len(companions) // 3, block, 0, 0, self.at(line), companions)

    def companions(self, line: int, fates: list[tuple[int, bool]]) -> tuple[int, ...]:
        code, lasti = self.at(line)
        flat: list[int] = []
        for size, kept in fates:
            flat += [code, lasti, size | (COMPANION_KEPT if kept else 0)]
        return tuple(flat)

    def line(self, number: int):  # type: ignore[no-untyped-def]
        return self.sampler.lines[(CELL, number)]


def _free(pointer: int) -> RawRecord:
    return (RECORD_FREE, 0, 0, 0, TID, WINDOW, pointer, 0, 0, 0, 0, 0, (), ())


# A loop iteration of line 1: an int and str(i) are temporaries, str(i) * 3 is kept.
ITERATION = [(28, False), (55, False), (70, True)]


def test_a_lines_companions_decide_its_kept_share() -> None:
    cell = Cell()
    # Eleven samples on line 1, each reporting three iterations' worth of
    # companions on line 1; the sampled blocks themselves are all freed (a
    # coin toss that would say "nothing kept"). The ten settled samples count
    # the companions' kept share of bytes, 70 of 153.
    records = [cell.sample(0x1000 + 16 * i, 1, companions=cell.companions(1, ITERATION * 3)) for i in range(11)]
    records = [r for record in records for r in (record, _free(record[6]))]
    cell.sampler.process(records, None)
    line = cell.line(1)
    assert abs(line.malloc_mb - 10 * 70 / 153) < 1e-9, line.malloc_mb
    assert abs(line.churn_mb - 11.0) < 1e-9  # the gross volume counts every sample
    assert abs(line.python_mb - line.malloc_mb) < 1e-9
    assert abs(cell.sampler.net_allocated_mb - line.malloc_mb) < 1e-9


def test_companions_count_for_the_line_they_were_allocated_on() -> None:
    cell = Cell()
    # Samples alternate between line 1 (keeps 70 of 153 bytes) and line 2,
    # whose companions are all temporaries: each line keeps its own share
    # whichever line's sample reported the companions.
    records = []
    for i in range(20):
        line = 1 if i % 2 == 0 else 2
        fates = cell.companions(1, ITERATION) + cell.companions(2, [(96, False)] * 3)
        records.append(cell.sample(0x1000 + 16 * i, line, companions=fates))
    cell.sampler.process(records, None)
    assert abs(cell.line(1).malloc_mb - 10 * 70 / 153) < 1e-9, cell.line(1).malloc_mb
    assert cell.line(2).malloc_mb == 0.0  # 9 settled samples, every block still live: the companions decide


def test_with_few_companions_the_sampled_blocks_decide() -> None:
    cell = Cell()
    # Line 3 gets four samples and three companions: too few, so its blocks'
    # own fates decide (two freed, one live; the fourth is not yet settled).
    records = [
        cell.sample(0x1000, 3),
        _free(0x1000),
        cell.sample(0x2000, 3, companions=cell.companions(3, [(9, False)] * 3)),
        cell.sample(0x3000, 3),
        _free(0x3000),
        cell.sample(0x4000, 3),
    ]
    cell.sampler.process(records, None)
    assert abs(cell.line(3).malloc_mb - 1.0) < 1e-9


def test_a_large_block_counts_at_once_and_settles_nothing() -> None:
    cell = Cell()
    # A 3 MiB block (over the window) counts outright and leaves the small
    # sample before it waiting; the next small sample settles that one.
    records = [
        cell.sample(0x1000, 2),
        cell.sample(0x9000, 2, weight=3 * WINDOW, block=3 * WINDOW),
        cell.sample(0x2000, 2),
    ]
    cell.sampler.process(records, None)
    assert abs(cell.line(2).malloc_mb - 4.0) < 1e-9


def test_native_allocations_keep_their_python_share_out() -> None:
    cell = Cell()
    records = [cell.sample(0x1000, 2, python=False), cell.sample(0x2000, 2)]
    cell.sampler.process(records, None)
    line = cell.line(2)
    assert abs(line.malloc_mb - 1.0) < 1e-9
    assert line.python_mb == 0.0


def test_blocks_of_a_kilobyte_or_more_go_by_their_own_fate() -> None:
    cell = Cell()
    # Line 2's companions are small temporaries, but its samples land on
    # 4 KiB blocks: those are not like the many small ones the companions
    # stand for, so each goes by its own fate (one freed, two kept, the
    # fourth not yet settled). Companions of 1 KiB or more are not pooled.
    small_temporaries = cell.companions(2, [(32, False)] * 8)
    large_kept = cell.companions(2, [(2048, True)] * 8)
    records = [
        cell.sample(0x1000, 2, block=4096),
        _free(0x1000),
        cell.sample(0x2000, 2, block=4096, companions=small_temporaries + large_kept),
        cell.sample(0x3000, 2, block=4096, companions=small_temporaries),
        cell.sample(0x4000, 2, block=4096),
    ]
    cell.sampler.process(records, None)
    line = cell.line(2)
    assert abs(line.malloc_mb - 2.0) < 1e-9
    assert line.fate_count == 16 and line.fate_kept == 0


def test_a_functions_net_allocation_is_its_lines_sum() -> None:
    cell = Cell()
    # Function f's line 5 keeps everything its companions saw and line 6
    # nothing; line 6 has many more companions. A share pooled over the
    # function would be mostly line 6's (0%) and disagree with its lines.
    records = []
    for i in range(12):
        line = 5 if i % 4 == 0 else 6
        fates = cell.companions(5, [(40, True)] * 2) + cell.companions(6, [(40, False)] * 6)
        records.append(cell.sample(0x1000 + 16 * i, line, companions=fates))
    cell.sampler.process(records, None)
    (function,) = cell.sampler.functions.values()
    five, six = cell.line(5), cell.line(6)
    assert abs(five.malloc_mb - 3.0) < 1e-9 and six.malloc_mb == 0.0, (five.malloc_mb, six.malloc_mb)
    assert abs(function.malloc_mb - (five.malloc_mb + six.malloc_mb)) < 1e-9
    # The run's net is what the lines add up to, so no share exceeds 1.
    assert abs(cell.sampler.net_allocated_mb - 3.0) < 1e-9
