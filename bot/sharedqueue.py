"""Stable import path of the Redis job function: jobs are enqueued as
`bot.sharedqueue.perform`.

RQ stores the function's import path inside every queued job, so jobs enqueued before a
deploy (or after a rollback) must still find it here. New code lives in
bot.app.queue.redisworker; nothing else belongs here.
"""

from bot.app.queue.redisworker import perform

__all__ = ["perform"]
