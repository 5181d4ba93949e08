"""One adapter per profiler the peer benchmark (`bench/peers.py`) runs."""
