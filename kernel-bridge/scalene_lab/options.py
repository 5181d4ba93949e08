"""Profile options, as the magics hand them to the bridge (Scalene's meanings)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_CPU_SAMPLING_RATE = 0.01
DEFAULT_CPU_PERCENT_THRESHOLD = 1.0
DEFAULT_ALLOCATION_WINDOW = 1 << 20  # bytes between allocation samples, on average
DEFAULT_COPY_WINDOW = 7 << 20  # bytes between memcpy/memmove samples (Scalene's)

# Options the grammar accepts whose feature has not shipped yet; each maps to
# the one-line notice shown instead of a traceback (none at present).
NOT_YET_AVAILABLE: dict[str, str] = {}


@dataclass
class ProfileOptions:
    """What to sample and what to report for one profiled run."""

    cpu_only: bool = False
    cpu_sampling_rate: float = DEFAULT_CPU_SAMPLING_RATE
    cpu_percent_threshold: float = DEFAULT_CPU_PERCENT_THRESHOLD
    reduced_profile: bool = False
    profile_all: bool = False
    profile_only: list[str] = field(default_factory=list)
    profile_exclude: list[str] = field(default_factory=list)
    profile_system_libraries: bool = False
    outfile: str | None = None
    view: str = "html"  # which static fallback leads: "html" or "cli"
    memory: bool = True  # on where available, as Scalene's CLI; --cpu-only turns it off
    allocation_sampling_window: int = DEFAULT_ALLOCATION_WINDOW
    gpu: bool | None = None  # --gpu / --no-gpu; None: on where NVML finds a device, unless --cpu-only
    stacks: bool = False
    argv: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The options as recorded in the profile's ``notebook.options``."""
        return asdict(self)

    @property
    def gpu_wanted(self) -> bool:
        """Whether to look for a GPU: asked for, or by default (not with --cpu-only)."""
        return self.gpu if self.gpu is not None else not self.cpu_only

    def notices(self) -> list[str]:
        """One line for each requested feature that is not available yet."""
        return [text for name, text in NOT_YET_AVAILABLE.items() if getattr(self, name)]
