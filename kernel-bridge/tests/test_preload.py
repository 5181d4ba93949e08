"""The "Python 3 (Scalene)" kernel: the allocator preloaded from the first allocation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Iterator

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from kernel_session import KernelSession, line_of
from scalene_lab.kernelspec import NAME


@pytest.fixture(scope="module")
def preloaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KernelSession]:
    prefix = str(tmp_path_factory.mktemp("prefix"))
    done = subprocess.run(
        [sys.executable, "-m", "scalene_lab.cli", "kernelspec", "install", "--prefix", prefix],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    kernel_dir = os.path.join(prefix, "share", "jupyter", "kernels", NAME)
    with open(os.path.join(kernel_dir, "kernel.json")) as handle:
        spec = json.load(handle)
    assert spec["display_name"] == "Python 3 (Scalene)" and spec["env"]["LD_PRELOAD"].endswith(".so")

    session = KernelSession.__new__(KernelSession)
    session.manager = KernelManager(
        kernel_name=NAME, kernel_spec_manager=KernelSpecManager(kernel_dirs=[os.path.dirname(kernel_dir)])
    )
    session.manager.start_kernel(cwd=str(tmp_path_factory.mktemp("cwd")))
    session.client = session.manager.client()
    session.client.start_channels()
    session.client.wait_for_ready(timeout=60)
    assert session.run("%load_ext scalene_lab\nimport numpy as np").status == "ok"
    yield session
    session.close()


def test_preloaded_kernel_profiles_memory_in_preload_mode(preloaded: KernelSession) -> None:
    outcome = preloaded.run("%%scalene\nbig = np.ones(200 * 1000 * 1000 // 8)\ncopy = big.copy()\ndel big")
    assert outcome.status == "ok", outcome.stderr
    profile = outcome.profile
    assert profile["notebook"]["attach_mode"] == "preload"
    key = profile["notebook"]["profiled_source"]
    truth = 200 * 1000 * 1000 / 2**20
    assert abs(line_of(profile, key, "np.ones")["n_malloc_mb"] - truth) < 0.1 * truth
    assert line_of(profile, key, "big.copy()")["n_copy_mb_s"] > 0


def test_subprocesses_do_not_inherit_the_preload(preloaded: KernelSession) -> None:
    assert preloaded.value("'scalene_lab' in __import__('os').environ.get('LD_PRELOAD', '')") is False
    child = preloaded.value(
        "__import__('subprocess').run(['cat', '/proc/self/maps'], capture_output=True, text=True).stdout.count('scalene_lab_alloc')"
    )
    assert child == 0
    assert preloaded.value("open('/proc/self/maps').read().count('scalene_lab_alloc') > 0") is True


def test_preloaded_python_objects_within_ten_percent(preloaded: KernelSession) -> None:
    outcome = preloaded.run(
        "%%scalene\n"
        "import sys\n"
        "objs = [bytes(1000) for _ in range(100_000)]\n"
        "truth = (sum(sys.getsizeof(o) for o in objs) + sys.getsizeof(objs)) / 2**20\n"
    )
    profile = outcome.profile
    line = line_of(profile, profile["notebook"]["profiled_source"], "objs = ")
    truth = preloaded.value("truth")
    assert abs(line["n_malloc_mb"] - truth) < 0.10 * truth, (line["n_malloc_mb"], truth)
    assert line["n_python_fraction"] > 0.9
