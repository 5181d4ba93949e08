"""Jupyter server configuration for the Galata ui-tests."""

import os
import sys

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # type: ignore[name-defined]  # noqa: F821

if os.geteuid() == 0:  # sessions and CI run as root
    c.ServerApp.allow_root = True  # type: ignore[name-defined]  # noqa: F821

# The AI proposals' provider: a loopback fake of OpenAI's API (the machine has
# no internet) in this server process, found the way the real one is, through
# OPENAI_BASE_URL and OPENAI_API_KEY. Its answer fits the ui-test's cell.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ai-server", "tests"))
from fake_providers import serve  # noqa: E402

ANSWER = "The loop adds the numbers one at a time in the interpreter; the built-in sum does the same in C.\n\n```python\ntotal = sum(range(3_000_000))\n```\n"
_fake_openai = serve("openai", keys={"sk-galata"}, default_answer=ANSWER)
os.environ["OPENAI_BASE_URL"] = _fake_openai.url
os.environ["OPENAI_API_KEY"] = "sk-galata"
c.ServerApp.jpserver_extensions = {"scalene_lab_ai": True}  # type: ignore[name-defined]  # noqa: F821
