"""Fixtures: real kernels, started the way JupyterLab starts them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from kernel_session import KernelSession, loaded_kernel  # noqa: E402


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KernelSession]:
    """A kernel with scalene_lab loaded, shared by one test module."""
    session = loaded_kernel(str(tmp_path_factory.mktemp("kernel-cwd")))
    yield session
    session.close()


@pytest.fixture
def fresh_kernel(tmp_path: os.PathLike[str]) -> Iterator[KernelSession]:
    """A kernel of its own for tests that interrupt or inspect process state."""
    session = loaded_kernel(str(tmp_path))
    yield session
    session.close()


@pytest.fixture(scope="session")
def idle_gpu_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A kernel environment whose NVML is the tests' fake (fake_nvml/), with
    one idle GPU the kernel does not use: runs poll it, as on a GPU machine."""
    from fake_nvml import Scenario, build_fake_nvml, fake_env

    directory = tmp_path_factory.mktemp("idle-gpu")
    scenario = Scenario(directory / "scenario")
    scenario.write()
    return fake_env(build_fake_nvml(directory), scenario.path)


# Memory profiling has two ways in; every memory test runs in both.
ATTACH_MODES = ["hot-attach", "preload"]


@pytest.fixture(scope="session")
def preload_kernel_dirs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Where `scalene-lab kernelspec install --prefix` put "Python 3 (Scalene)"."""
    from scalene_lab.kernelspec import NAME

    prefix = str(tmp_path_factory.mktemp("prefix"))
    done = subprocess.run(
        [sys.executable, "-m", "scalene_lab.cli", "kernelspec", "install", "--prefix", prefix],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    kernels = os.path.join(prefix, "share", "jupyter", "kernels")
    with open(os.path.join(kernels, NAME, "kernel.json")) as handle:
        spec = json.load(handle)
    assert spec["display_name"] == "Python 3 (Scalene)" and spec["env"]["LD_PRELOAD"].endswith(".so")
    return [kernels]


@pytest.fixture(scope="module", params=ATTACH_MODES)
def memory_kernel(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, preload_kernel_dirs: list[str]) -> Iterator[KernelSession]:
    """A kernel per way in (``attach_mode`` says which), shared by one test module."""
    session = loaded_kernel(str(tmp_path_factory.mktemp("kernel-cwd")), request.param, preload_kernel_dirs)
    yield session
    session.close()


@pytest.fixture(params=ATTACH_MODES)
def fresh_memory_kernel(request: pytest.FixtureRequest, tmp_path: os.PathLike[str], preload_kernel_dirs: list[str]) -> Iterator[KernelSession]:
    """A kernel of its own per way in, for tests that inspect process state."""
    session = loaded_kernel(str(tmp_path), request.param, preload_kernel_dirs)
    yield session
    session.close()
