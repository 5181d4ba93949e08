"""Jupyter server configuration for the Galata ui-tests."""

import os

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # type: ignore[name-defined]  # noqa: F821

if os.geteuid() == 0:  # sessions and CI run as root
    c.ServerApp.allow_root = True  # type: ignore[name-defined]  # noqa: F821
