"""Fixtures: real kernels, started the way JupyterLab starts them."""

from __future__ import annotations

import os
import sys
from typing import Iterator

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from kernel_session import KernelSession  # noqa: E402


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KernelSession]:
    """A kernel with scalene_lab loaded, shared by one test module."""
    session = KernelSession(cwd=str(tmp_path_factory.mktemp("kernel-cwd")))
    loaded = session.run("%load_ext scalene_lab")
    assert loaded.status == "ok", loaded.error
    yield session
    session.close()


@pytest.fixture
def fresh_kernel(tmp_path: "os.PathLike[str]") -> Iterator[KernelSession]:
    """A kernel of its own for tests that interrupt or inspect process state."""
    session = KernelSession(cwd=str(tmp_path))
    loaded = session.run("%load_ext scalene_lab")
    assert loaded.status == "ok", loaded.error
    yield session
    session.close()
