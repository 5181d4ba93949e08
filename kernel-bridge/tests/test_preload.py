"""The "Python 3 (Scalene)" kernel: the allocator preloaded from the first
allocation. (test_memory.py runs every memory test in this kernel too.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kernel_session import KernelSession, line_of, loaded_kernel


@pytest.fixture(scope="module")
def preloaded(tmp_path_factory: pytest.TempPathFactory, preload_kernel_dirs: list[str]) -> Iterator[KernelSession]:
    session = loaded_kernel(str(tmp_path_factory.mktemp("cwd")), "preload", preload_kernel_dirs)
    assert session.run("import numpy as np").status == "ok"
    yield session
    session.close()


def test_preloaded_kernel_profiles_memory_in_preload_mode(preloaded: KernelSession) -> None:
    # Plain %%scalene: memory is on by default.
    profile = preloaded.profile_of(preloaded.run("%%scalene\nbig = np.ones(200 * 1000 * 1000 // 8)\ncopy = big.copy()\ndel big"))
    key = profile["notebook"]["profiled_source"]
    truth = 200 * 1000 * 1000 / 2**20
    assert abs(line_of(profile, key, "np.ones")["n_malloc_mb"] - truth) < 0.1 * truth
    assert line_of(profile, key, "big.copy()")["n_copy_mb_s"] > 0


def test_subprocesses_do_not_inherit_the_preload(preloaded: KernelSession) -> None:
    assert preloaded.value("'scalene_lab' in __import__('os').environ.get('LD_PRELOAD', '')") is False
    child = preloaded.value("__import__('subprocess').run(['cat', '/proc/self/maps'], capture_output=True, text=True).stdout.count('scalene_lab_alloc')")
    assert child == 0
    assert preloaded.value("open('/proc/self/maps').read().count('scalene_lab_alloc') > 0") is True
