"""Entry points (Action, webhook, worker, offline render, demo) and the one wiring module."""
