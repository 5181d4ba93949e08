"""The ``%scrun`` / ``%%scalene`` front: option grammar, usage text, errors.

It turns what the user typed into :class:`scalene_lab.options.ProfileOptions`
and hands the code to the kernel bridge (:mod:`scalene_lab.runner`).
"""

from .magics import ScaleneMagics, register_magics, unregister_magics

__all__ = ["ScaleneMagics", "register_magics", "unregister_magics"]
