"""A workflow is a table of (state, action) -> state plus named guards."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from market.core.errors import DuplicateTransition, GuardFailed, IllegalTransition

Guard = Callable[..., str | None]  # returns an error message, or None when the guard passes


@dataclass(frozen=True)
class StateMachine:
    """Transition table with guards; `fire` performs one checked transition."""

    name: str
    states: tuple[str, ...]
    transitions: dict[tuple[str, str], str]
    guards: dict[str, tuple[Guard, ...]] = field(default_factory=dict)

    def __post_init__(self):
        for (src, _action), dst in self.transitions.items():
            if src not in self.states or dst not in self.states:
                raise ValueError(f"{self.name}: unknown state in {src} -> {dst}")

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(sorted({action for _s, action in self.transitions}))

    def allowed(self, state: str) -> list[str]:
        return [action for (src, action) in self.transitions if src == state]

    def target(self, state: str, action: str) -> str:
        """The state `action` leads to from `state`, or a typed error."""
        try:
            return self.transitions[(state, action)]
        except KeyError:
            if any(dst == state for (_s, a), dst in self.transitions.items() if a == action):
                raise DuplicateTransition(
                    _l("Действие «%(action)s» уже выполнено."), action=action
                ) from None
            raise IllegalTransition(
                _l("Действие «%(action)s» невозможно в состоянии «%(state)s»."),
                action=action,
                state=state,
            ) from None

    def check(self, obj, action: str, **context) -> str:
        """Return the target state after running the action's guards."""
        dst = self.target(obj.state, action)
        for guard in self.guards.get(action, ()):
            error = guard(obj, **context)
            if error:
                raise GuardFailed(error)
        return dst

    def fire(self, obj, action: str, **context) -> tuple[str, str]:
        """Perform the transition on obj; returns (old, new) state."""
        dst = self.check(obj, action, **context)
        old = obj.state
        obj.state = dst
        return old, dst

    def table(self) -> Iterable[tuple[str, str, str | None]]:
        """Every (state, action) pair with its target or None: for exhaustive tests."""
        for state in self.states:
            for action in self.actions:
                yield state, action, self.transitions.get((state, action))
