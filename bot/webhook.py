"""Stable import path of the webhook app: `gunicorn 'bot.webhook:create_app()'`.

Deployments name this path in their process manager, so it outlives the move of the
code to bot.app.webhook. Nothing else belongs here.
"""

from bot.app.webhook import create_app

__all__ = ["create_app"]
