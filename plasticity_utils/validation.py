"""Field checks shared by every config and task dataclass (called from their ``__post_init__``).

Errors name the class, the field, the value and what is allowed, e.g.
``binary_patterns.Config: batch must be an integer >= 1, got 0``: a ``TypeError`` for a value of the
wrong type (``batch=1.5``, ``batch=True``, ``batch="3"``), a ``ValueError`` for one out of range.
Numbers must be Python ``int``/``float`` (the run store keys runs by the config's JSON, and a bool is
not a count), so numpy integers are refused too.
"""

from __future__ import annotations

import math
from typing import Any, Callable

IMPLS = ("fused", "reference")  # the values ``PlasticRecurrent.forward(impl=...)`` accepts


def label(obj: Any) -> str:
    """``module.Class`` of ``obj``, the prefix of every error message (e.g. ``maze.Config``): the experiment or task
    it belongs to, also where that is a package (``natural_images.Config``, not ``config.Config``)."""
    parts = type(obj).__module__.split(".")
    owner = next((parts[i + 1] for i, p in enumerate(parts[:-1]) if p in ("experiments", "tasks")), parts[-1])
    return f"{owner}.{type(obj).__qualname__}"


def _show(value: Any, typed: bool = False) -> str:
    """The offending value for a message: its repr cut at 60 characters, with its type if ``typed``."""
    text = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    return f"{text} ({type(value).__name__})" if typed else text


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    return isinstance(v, float) or _is_int(v)


# category -> (type test: else TypeError, range test: else ValueError, what is allowed)
_RULES: dict[str, tuple[Callable[[Any], bool], Callable[[Any], bool], str]] = {
    "counts": (_is_int, lambda v: v >= 1, "an integer >= 1"),
    "non_negative": (_is_int, lambda v: v >= 0, "an integer >= 0"),
    "positive": (_is_real, lambda v: math.isfinite(v) and v > 0, "a finite number > 0"),
    "non_negative_real": (_is_real, lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0"),
    "unit": (_is_real, lambda v: 0 <= v <= 1, "a number in [0, 1]"),
    "open_unit": (_is_real, lambda v: 0 < v < 1, "a number in (0, 1)"),
    "rate": (_is_real, lambda v: 0 < v <= 1, "a number in (0, 1]"),
    "flags": (lambda v: isinstance(v, bool), lambda v: True, "True or False"),
}


def check(obj: Any, *, choices: dict[str, tuple[str, ...]] | None = None, types: dict[str, type] | None = None,
          **categories: tuple[str, ...]) -> None:
    """Check the named fields of ``obj``; raise on the first bad one.

    Categories (each a tuple of field names): counts: ints >= 1; non_negative: ints >= 0; positive:
    finite reals > 0; non_negative_real: finite reals >= 0; unit: reals in [0, 1]; open_unit: reals in
    (0, 1); rate: reals in (0, 1]; flags: bools. Also choices: {field: allowed strings} and types:
    {field: class its value must be an instance of}.
    """
    if set(categories) - set(_RULES):
        raise TypeError(f"unknown categories {sorted(set(categories) - set(_RULES))}; use {tuple(_RULES)}")
    rules = [(name, *_RULES[category]) for category, names in categories.items() for name in names]
    rules += [(name, lambda v: isinstance(v, str), lambda v, a=allowed: v in a, f"one of {tuple(allowed)}")
              for name, allowed in (choices or {}).items()]
    rules += [(name, lambda v, c=cls: isinstance(v, c), lambda v: True, f"a {cls.__name__}")
              for name, cls in (types or {}).items()]
    for name, is_type, in_range, allowed in rules:
        value = getattr(obj, name)
        if not (is_type(value) and in_range(value)):
            wrong_type = not is_type(value)
            raise (TypeError if wrong_type else ValueError)(
                f"{label(obj)}: {name} must be {allowed}, got {_show(value, wrong_type)}")
