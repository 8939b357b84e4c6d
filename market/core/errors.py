"""Typed domain errors that views turn into clear messages, never a 500."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain refused the operation; `message` is shown to the user."""

    def __init__(self, message, **params):
        super().__init__(message)
        self.message = message
        self.params = params

    def __str__(self) -> str:
        text = str(self.message)
        return text % self.params if self.params else text


class IllegalTransition(DomainError):
    """The action is not allowed from the object's current state."""


class DuplicateTransition(IllegalTransition):
    """The object is already in the state this action leads to."""


class GuardFailed(DomainError):
    """A named guard of a transition refused it."""


class PermissionDenied(DomainError):
    """The actor may not do this."""


class NotFound(DomainError):
    """The object does not exist or is not visible to the actor."""
