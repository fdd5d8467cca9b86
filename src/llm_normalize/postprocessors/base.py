"""The shape every post-processor shares: `str -> str`, plus an optional confidence assessor.

A post-processor is a pure, total, idempotent function from text to text.
Some post-processors can also say whether they are *confident* in their answer
(an exact or known match) or only guessing (an unknown city, an unparsed address).
The pipeline sends only non-confident values to the model, so that judgement matters.

The confident variant of a post-processor is an *assessor*, `str -> Outcome`.
`assessed_by` links a post-processor to its assessor, so a registry that is handed
`normalize_city` also knows how to ask `assess_city` how sure it is.
A post-processor without an assessor is taken to be confident about everything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

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

_ASSESSORS: dict[PostProcessor, Assessor] = {}


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
        _ASSESSORS[func] = assessor
        return func

    return decorate


def assessor_of(func: PostProcessor) -> Assessor | None:
    """Return the assessor linked to `func` with `assessed_by`, if any."""
    return _ASSESSORS.get(func)


def assess(func: PostProcessor, value: str) -> Outcome:
    """Run `func` on `value` and say whether it was confident.

    Uses the linked assessor when there is one (one computation, not two);
    otherwise runs `func` and reports it as confident.
    """
    assessor = _ASSESSORS.get(func)
    if assessor is not None:
        return assessor(value)
    return Outcome(func(value), confident=True)
