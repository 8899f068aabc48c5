"""Whether ops record the graph: no_grad, enable_grad, set_grad_enabled, inference_mode."""
from __future__ import annotations

import functools

_state = {"enabled": True}


def is_grad_enabled() -> bool:
    return _state["enabled"]


class _GradMode:
    """A context manager that is also a decorator, like PyTorch's."""

    _mode = True

    def __new__(cls, orig_func=None):
        if orig_func is None or cls is set_grad_enabled:
            return super().__new__(cls)
        return cls()(orig_func)  # used bare, as ``@no_grad``

    def __enter__(self):
        self._prev = _state["enabled"]
        _state["enabled"] = self._mode

    def __exit__(self, *exc) -> None:
        _state["enabled"] = self._prev

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    _mode = False


class enable_grad(_GradMode):
    _mode = True


class set_grad_enabled(_GradMode):
    def __new__(cls, mode: bool):
        return object.__new__(cls)

    def __init__(self, mode: bool) -> None:
        self._prev = _state["enabled"]
        self._mode = bool(mode)
        _state["enabled"] = self._mode  # takes effect when called as a function, too

    def __enter__(self):
        pass

    def __call__(self, fn):
        _state["enabled"] = self._prev

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(self._mode):
                return fn(*args, **kwargs)

        return wrapper


class inference_mode(_GradMode):
    """Like no_grad (ember keeps no separate inference tensors); ``inference_mode(False)``
    turns recording back on, as PyTorch's does."""

    def __new__(cls, mode=True):
        if callable(mode):
            return cls()(mode)  # used bare, as ``@inference_mode``
        return object.__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        self._mode = not mode

    def __call__(self, fn):
        enabled = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(not enabled):
                return fn(*args, **kwargs)

        return wrapper
