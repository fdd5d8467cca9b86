"""Which post-processors run for which field: `PostProcessorRegistry`.

A registry maps a field name to a *chain* of post-processors, run left to right.
Field names match in the seed's camelCase and in snake_case alike
(`nivelEducativo` and `nivel_educativo` are one field).

The default registry, `llm_normalize.default_registry`, is built from the chains of the
Colombian lead profile (`llm_normalize.profiles.colombia`), where each field is defined
once. It is read-only, so that one team's customisation cannot leak into another's through
a shared global. Derive your own from it:

    from llm_normalize import default_registry

    registry = default_registry.derive()

    @registry.register("ciudad", replace=True)
    def my_city(value: str) -> str: ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import overload

from llm_normalize._names import field_key
from llm_normalize.exceptions import ConfigurationError, UnknownPostProcessorError
from llm_normalize.postprocessors.base import Outcome, PostProcessor, assess

__all__ = ["PostProcessorRegistry"]


def _chain_of(funcs: PostProcessor | Sequence[PostProcessor]) -> tuple[PostProcessor, ...]:
    chain = (funcs,) if callable(funcs) else tuple(funcs)
    for func in chain:
        if not callable(func):
            raise ConfigurationError(
                f"a post-processor must be a callable str -> str, got {type(func).__name__}"
            )
    return chain


class PostProcessorRegistry:
    """Map field names to chains of post-processors.

    Args:
        chains: Initial chains by field name. A single function counts as a chain of one.
        read_only: Refuse any later change (the default registry is read-only).

    Examples:
        >>> registry = PostProcessorRegistry()
        >>> @registry.register("codigo")
        ... def upper(value: str) -> str:
        ...     return value.upper()
        >>> registry.apply("codigo", "ab-1")
        'AB-1'
    """

    def __init__(
        self,
        chains: Mapping[str, PostProcessor | Sequence[PostProcessor]] | None = None,
        *,
        read_only: bool = False,
    ) -> None:
        # key -> (display name, chain); the display name is the first spelling registered.
        self._chains: dict[str, tuple[str, tuple[PostProcessor, ...]]] = {}
        self._read_only = False
        for name, funcs in (chains or {}).items():
            self._set(name, _chain_of(funcs), replace=False, append=False)
        self._read_only = read_only

    def __repr__(self) -> str:
        return f"PostProcessorRegistry(fields={self.fields!r}, read_only={self._read_only})"

    def __contains__(self, field: object) -> bool:
        return isinstance(field, str) and field_key(field) in self._chains

    def __iter__(self) -> Iterator[str]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self._chains)

    @property
    def fields(self) -> tuple[str, ...]:
        """The registered field names, in registration order."""
        return tuple(name for name, _ in self._chains.values())

    @property
    def read_only(self) -> bool:
        """Whether this registry refuses changes."""
        return self._read_only

    def _set(
        self, field: str, chain: tuple[PostProcessor, ...], *, replace: bool, append: bool
    ) -> None:
        if self._read_only:
            raise ConfigurationError(
                "this registry is read-only; call .derive() and register into the copy"
            )
        if not isinstance(field, str) or not field.strip():
            raise ConfigurationError("a field name must be a non-empty string")
        key = field_key(field)
        existing = self._chains.get(key)
        if existing is not None and append:
            self._chains[key] = (existing[0], existing[1] + chain)
        elif existing is not None and not replace:
            raise ConfigurationError(
                f"field {field!r} already has a post-processor chain; "
                "pass replace=True to replace it or append=True to extend it"
            )
        else:
            self._chains[key] = (existing[0] if existing else field, chain)

    @overload
    def register(
        self, field: str, /, *, replace: bool = ..., append: bool = ...
    ) -> Callable[[PostProcessor], PostProcessor]: ...

    @overload
    def register(
        self,
        field: str,
        funcs: PostProcessor | Sequence[PostProcessor],
        /,
        *,
        replace: bool = ...,
        append: bool = ...,
    ) -> PostProcessor | Sequence[PostProcessor]: ...

    def register(
        self,
        field: str,
        funcs: PostProcessor | Sequence[PostProcessor] | None = None,
        /,
        *,
        replace: bool = False,
        append: bool = False,
    ) -> Callable[[PostProcessor], PostProcessor] | PostProcessor | Sequence[PostProcessor]:
        """Register a post-processor, or a chain of them, for a field.

        Use it as a call, `registry.register("ciudad", [clean_text, my_city])`, or as a
        decorator, `@registry.register("ciudad")`.

        Args:
            field: The field name, camelCase or snake_case.
            funcs: A `str -> str` function or a sequence of them, run left to right.
                Leave it out to use `register` as a decorator.
            replace: Replace the field's existing chain instead of refusing.
            append: Add the functions after the field's existing chain.

        Returns:
            `funcs` unchanged, or a decorator that registers and returns its function.

        Raises:
            ConfigurationError: The field already has a chain (and neither `replace` nor
                `append` was given), the registry is read-only, or a function is not callable.
        """
        if funcs is None:

            def decorate(func: PostProcessor) -> PostProcessor:
                self._set(field, _chain_of(func), replace=replace, append=append)
                return func

            return decorate
        self._set(field, _chain_of(funcs), replace=replace, append=append)
        return funcs

    def unregister(self, field: str) -> None:
        """Remove a field's chain, so `apply` passes its values through unchanged."""
        if self._read_only:
            raise ConfigurationError(
                "this registry is read-only; call .derive() and change the copy"
            )
        if self._chains.pop(field_key(field), None) is None:
            raise UnknownPostProcessorError(field, self.fields)

    def get(self, field: str) -> tuple[PostProcessor, ...]:
        """Return the chain registered for `field`.

        Raises:
            UnknownPostProcessorError: Nothing is registered for that field.
        """
        entry = self._chains.get(field_key(field))
        if entry is None:
            raise UnknownPostProcessorError(field, self.fields)
        return entry[1]

    def apply(self, field: str, value: str | None) -> str | None:
        """Run the chain of `field` on `value`.

        `None` stays `None`, and a field with no chain passes its value through unchanged.
        """
        if value is None:
            return None
        entry = self._chains.get(field_key(field))
        if entry is None:
            return value
        for func in entry[1]:
            value = func(value)
        return value

    def assess(self, field: str, value: str) -> Outcome:
        """Run the chain of `field` on `value` and say whether every step was confident.

        The reason of the outcome is the first non-confident step's reason.
        A field with no chain passes its value through, confident.
        """
        entry = self._chains.get(field_key(field))
        if entry is None:
            return Outcome(value, confident=True, reason="no_chain")
        confident = True
        reason: str | None = None
        for func in entry[1]:
            outcome = assess(func, value)
            value = outcome.value
            if confident and not outcome.confident:
                confident, reason = False, outcome.reason
            elif confident:
                reason = outcome.reason
        return Outcome(value, confident=confident, reason=reason)

    def derive(self) -> PostProcessorRegistry:
        """Return a writable copy of this registry."""
        copy = PostProcessorRegistry()
        copy._chains = dict(self._chains)
        return copy
