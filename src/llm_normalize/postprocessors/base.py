"""The shape every post-processor shares: `str -> str`, plus an optional confidence assessor.

A post-processor is a pure, total, idempotent function from text to text.
Some post-processors can also say whether they are *confident* in their answer
(an exact or known match) or only guessing (an unknown city, an unparsed address).
The pipeline sends only non-confident values to the model, so that judgement matters.

The confident variant of a post-processor is an *assessor*, `str -> Outcome`.
`assessed_by` links a post-processor to its assessor, so a registry that is handed
`normalize_city` also knows how to ask `assess_city` how sure it is.
A post-processor without an assessor is taken to be confident about everything.

The link is stored on the post-processor itself, so a post-processor built at run time
(`make_city_normalizer`, `make_institution_normalizer`) is freed with its last reference.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeAlias

__all__ = ["Assessor", "Outcome", "PostProcessor", "assess", "assessed_by", "assessor_of"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a post-processor made of one value, and whether it trusts its own answer.

    Attributes:
        value: The normalized text.
        confident: True when the rules recognised the value (an exact or known match),
            False when they only tidied it and a model could do better.
        reason: A short, PII-free machine-readable tag saying why (e.g. ``"alias"``,
            ``"fuzzy"``, ``"unknown"``); never a field value.
    """

    value: str
    confident: bool
    reason: str | None = None


PostProcessor: TypeAlias = Callable[[str], str]
"""A pure, total, idempotent `str -> str` function."""

Assessor: TypeAlias = Callable[[str], Outcome]
"""The confidence-aware twin of a post-processor: `str -> Outcome`."""

# The attribute holding a post-processor's (weak reference to itself, assessor). The weak
# reference tells the post-processor from a wrapper that copied its `__dict__`
# (`functools.wraps` does): a wrapper may change the output, so it is not assessed the same.
_ATTRIBUTE: Final = "_llm_normalize_assessor"
# Callables that take no attribute or weak reference (builtins, bound methods, slotted
# objects). Those are made once, not per call, so holding them here does not grow.
_UNATTRIBUTABLE: dict[PostProcessor, Assessor] = {}


def _link(func: PostProcessor, assessor: Assessor) -> None:
    try:
        setattr(func, _ATTRIBUTE, (weakref.ref(func), assessor))
    except (AttributeError, TypeError):
        _UNATTRIBUTABLE[func] = assessor


def assessed_by(assessor: Assessor) -> Callable[[PostProcessor], PostProcessor]:
    """Declare that `assessor` computes the decorated post-processor together with its confidence.

    The decorated function must return `assessor(value).value` for every input.

    Examples:
        >>> def assess_upper(value: str) -> Outcome:
        ...     return Outcome(value.upper(), confident=value.isascii())
        >>> @assessed_by(assess_upper)
        ... def to_upper(value: str) -> str:
        ...     return assess_upper(value).value
        >>> assess(to_upper, "ñu")
        Outcome(value='ÑU', confident=False, reason=None)
    """

    def decorate(func: PostProcessor) -> PostProcessor:
        _link(func, assessor)
        return func

    return decorate


def assessor_of(func: PostProcessor) -> Assessor | None:
    """Return the assessor linked to `func` with `assessed_by`, if any."""
    # The callable's own `__dict__`, not `getattr`: an instance must not see its class's link.
    entry = getattr(func, "__dict__", {}).get(_ATTRIBUTE)
    if isinstance(entry, tuple) and entry[0]() is func:
        assessor: Assessor = entry[1]
        return assessor
    try:
        return _UNATTRIBUTABLE.get(func)
    except TypeError:  # an unhashable callable cannot be in the table
        return None


def assess(func: PostProcessor, value: str) -> Outcome:
    """Run `func` on `value` and say whether it was confident.

    Uses the linked assessor when there is one (one computation, not two);
    otherwise runs `func` and reports it as confident.
    """
    assessor = assessor_of(func)
    if assessor is not None:
        return assessor(value)
    return Outcome(func(value), confident=True)
