"""The sampler's arithmetic, driven by a fake clock: deterministic."""

from __future__ import annotations

import random
import sys
from types import FrameType

import pytest
from scalene_lab.sampler import CpuSampler, split_sample


class FakeClock:
    """Wall and CPU time that only move when a test says so."""

    def __init__(self) -> None:
        self.now = 100.0
        self.cpu = 5.0
        self.process = 7.0

    def wall(self) -> float:
        return self.now

    def thread_cpu(self) -> float:
        return self.cpu

    def process_cpu(self) -> float:
        return self.process

    def thread_cpu_of(self, ident: int) -> float | None:
        return None

    def advance(self, wall: float, cpu: float) -> None:
        self.now += wall
        self.cpu += cpu
        self.process += cpu


class FakeTimer:
    signum = 0
    description = "fake"

    def arm(self, first: float, period: float) -> None:
        self.armed = (first, period)

    def close(self) -> None:
        pass


def test_split_prompt_busy_sample_is_python() -> None:
    assert split_sample(0.01, 0.01, 0.01) == pytest.approx((0.01, 0.0, 0.0, 1.0))


def test_split_late_busy_sample_is_native_beyond_the_interval() -> None:
    python, native, system, util = split_sample(0.5, 0.01, 0.5)
    assert (python, native, system, util) == pytest.approx((0.01, 0.49, 0.0, 1.0))


def test_split_idle_sample_is_system() -> None:
    assert split_sample(0.01, 0.01, 0.0) == pytest.approx((0.0, 0.0, 0.01, 0.0))


def test_split_multithreaded_native_cpu_caps_utilization() -> None:
    assert split_sample(0.2, 0.01, 0.8)[3] == 1.0


def here() -> FrameType:
    return sys._getframe(1)


def sample(sampler: CpuSampler, frame: FrameType) -> None:
    """What the signal handler does: record, then restart the interval."""
    sampler.record(frame)
    sampler._mark(sampler._clock.wall())


def make_sampler(clock: FakeClock) -> CpuSampler:
    sampler = CpuSampler(0.01, lambda name: name == __file__, clock=clock, rng=random.Random(1), timer_factory=FakeTimer)
    sampler._baseline_count = 10**6  # no thread sampling in these tests
    sampler._mark(clock.wall())
    return sampler


def test_samples_are_charged_to_the_calling_line_with_their_split() -> None:
    clock = FakeClock()
    sampler = make_sampler(clock)
    sampler._armed = 0.01
    clock.advance(0.01, 0.01)
    line_a = sys._getframe().f_lineno + 1
    sample(sampler, here())
    clock.advance(0.01, 0.0)
    line_b = sys._getframe().f_lineno + 1
    sample(sampler, here())
    a = sampler.lines[(__file__, line_a)]
    b = sampler.lines[(__file__, line_b)]
    assert (a.python, a.native, a.system) == pytest.approx((0.01, 0.0, 0.0))
    assert (b.python, b.native, b.system) == pytest.approx((0.0, 0.0, 0.01))
    assert sampler.total_time == pytest.approx(0.02)
    assert sampler.samples == 2


def test_library_frames_are_skipped_to_the_user_line() -> None:
    clock = FakeClock()
    sampler = CpuSampler(0.01, lambda name: False, clock=clock, rng=random.Random(1), timer_factory=FakeTimer)
    sampler._mark(clock.wall())
    clock.advance(0.01, 0.01)
    sampler.record(here())
    assert sampler.lines == {}
    assert sampler.unattributed_time == pytest.approx(0.01)


def test_functions_accumulate_their_lines() -> None:
    clock = FakeClock()
    sampler = make_sampler(clock)

    def inner() -> None:
        clock.advance(0.02, 0.02)
        sample(sampler, here())

    inner()
    inner()
    ((key, acc),) = sampler.functions.items()
    assert key[1].endswith("inner") and acc.count == 2
    assert acc.python + acc.native == pytest.approx(0.04)


def test_sample_times_are_bounded() -> None:
    clock = FakeClock()
    sampler = make_sampler(clock)
    frame = here()
    for _ in range(1000):
        clock.advance(0.01, 0.01)
        sample(sampler, frame)
    (acc,) = sampler.lines.values()
    assert acc.count == 1000 and len(acc.times) == 100
