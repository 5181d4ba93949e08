"""scalene-lab's Jupyter server extension: optimization proposals from AI
providers for profiled code.

The calls go through the server (not the browser), so they work on remote
hubs, reach an Ollama next to the server, meet no CORS limits, and use keys
from the server's environment without sending them to the browser.
"""

from __future__ import annotations

from typing import Any

from .handlers import handlers


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Where jupyter_server finds this extension."""
    return [{"module": "scalene_lab_ai"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Add the AI routes to the server."""
    web_app = server_app.web_app
    web_app.add_handlers(".*$", handlers(web_app.settings["base_url"]))
    server_app.log.info("scalene-lab AI proposals: /scalene-lab/ai/{status,models,propose}")
