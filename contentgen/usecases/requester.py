"""Whose turn an engine call is: every use case runs its engine calls as its service's user and source."""

from __future__ import annotations

import functools

from contentgen.engine.fair import current_requester

AUTO = "auto"  # the task's own adapter when one is loaded, else the base model


def as_requester(method):  # noqa: ANN001, ANN201
    """Engine calls inside `method` take their turn on the shared model as this service's
    user and source (a user's batch job and their interactive requests are separate turns)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):  # noqa: ANN001, ANN202
        token = current_requester.set(self.requester)
        try:
            return method(self, *args, **kwargs)
        finally:
            current_requester.reset(token)
    return wrapper
