"""Publishes a profile as one display_data bundle (rich JSON plus static
fallbacks) and, when asked, writes it to a JSON file."""

from __future__ import annotations

import json
import sys
from typing import Any

from .options import ProfileOptions
from .output_bounds import fit
from .profile import PROFILE_MIME
from .render_html import render_html
from .render_text import render_text


def unbounded_bundle(profile: dict[str, Any], view: str = "html") -> dict[str, Any]:
    """The three entries rendered from the whole ``profile``, before any cap."""
    text = render_text(profile)
    html = render_html(profile, as_text=text if view == "cli" else None)
    return {PROFILE_MIME: profile, "text/html": html, "text/plain": text}


def bundle(profile: dict[str, Any], view: str = "html") -> dict[str, Any]:
    """The MIME bundle: the profile object, static HTML and an aligned text table.

    Every entry stays under its cap in output_bounds.py (the notebook saves
    all three). With ``view == "cli"`` the HTML fallback is the text table
    itself, for frontends that should show the terminal view first.
    """
    return fit(profile, lambda shown: unbounded_bundle(shown, view))


def write_outfile(profile: dict[str, Any], path: str) -> None:
    """Write the profile as JSON (Scalene's own viewer can open it)."""
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(profile, handle, indent=1)
        handle.write("\n")


def publish(profile: dict[str, Any], options: ProfileOptions) -> None:
    """Show the profile in the cell's output; write ``--outfile`` if given.

    The file gets the whole profile; only the notebook's copy is capped.
    """
    from IPython.display import display

    if options.outfile is not None:
        try:
            write_outfile(profile, options.outfile)
        except OSError as problem:
            print(f"scalene-lab: could not write {options.outfile}: {problem.strerror or problem}", file=sys.stderr)
    display(bundle(profile, options.view), raw=True)  # type: ignore[no-untyped-call]
