"""Publishes a profile as one display_data bundle (rich JSON plus static
fallbacks) and, when asked, writes it to a JSON file."""

from __future__ import annotations

import json
import sys
from typing import Any, Dict

from .options import ProfileOptions
from .profile import PROFILE_MIME
from .render_html import render_html
from .render_text import render_text


def bundle(profile: Dict[str, Any], view: str = "html") -> Dict[str, Any]:
    """The MIME bundle: the profile object, static HTML and an aligned text table.

    With ``view == "cli"`` the HTML fallback is the text table itself, for
    frontends that should show the terminal view first.
    """
    text = render_text(profile)
    html = render_html(profile, as_text=text if view == "cli" else None)
    return {PROFILE_MIME: profile, "text/html": html, "text/plain": text}


def write_outfile(profile: Dict[str, Any], path: str) -> None:
    """Write the profile as JSON (Scalene's own viewer can open it)."""
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(profile, handle, indent=1)
        handle.write("\n")


def publish(profile: Dict[str, Any], options: ProfileOptions) -> None:
    """Show the profile in the cell's output; write ``--outfile`` if given."""
    from IPython.display import display

    if options.outfile:
        try:
            write_outfile(profile, options.outfile)
        except OSError as problem:
            print(f"scalene-lab: could not write {options.outfile}: {problem.strerror or problem}", file=sys.stderr)
    display(bundle(profile, options.view), raw=True)  # type: ignore[no-untyped-call]
