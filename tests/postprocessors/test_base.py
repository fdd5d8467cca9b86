import functools
import gc
import weakref
from collections.abc import Callable

import pytest

from llm_normalize.postprocessors.base import Outcome, assess, assessed_by, assessor_of
from llm_normalize.postprocessors.organizations import make_institution_normalizer
from llm_normalize.postprocessors.places import Gazetteer, make_city_normalizer


def assess_upper(value: str) -> Outcome:
    return Outcome(value.upper(), confident=value.isascii(), reason="upper")


@assessed_by(assess_upper)
def to_upper(value: str) -> str:
    return assess_upper(value).value


class Shout:
    """A callable object used as a post-processor."""

    def __call__(self, value: str) -> str:
        return assess_upper(value).value


def collected(factory: Callable[[], Callable[[str], str]], count: int = 50) -> bool:
    """Build `count` post-processors, drop them, and say whether the last one was freed."""
    normalizers = [factory() for _ in range(count)]
    last = weakref.ref(normalizers[-1])
    del normalizers
    gc.collect()
    return last() is None


class TestAssessedBy:
    def test_links_a_function(self) -> None:
        """A decorated function reports its assessor, and `assess` uses it."""
        assert assessor_of(to_upper) is assess_upper
        assert assess(to_upper, "ñu") == Outcome("ÑU", confident=False, reason="upper")

    def test_plain_function_is_confident(self) -> None:
        """A post-processor without an assessor is taken to be confident."""

        def strip(value: str) -> str:
            return value.strip()

        assert assessor_of(strip) is None
        assert assess(strip, " a ") == Outcome("a", confident=True)

    def test_partial(self) -> None:
        """A `functools.partial` can carry an assessor."""
        stripped = assessed_by(assess_upper)(functools.partial(str.strip))
        assert assessor_of(stripped) is assess_upper
        assert assess(stripped, "ab").value == "AB"

    def test_callable_object(self) -> None:
        """A callable object can carry an assessor, and returns itself decorated."""
        shout = Shout()
        assert assessed_by(assess_upper)(shout) is shout
        assert assessor_of(shout) is assess_upper
        assert assessor_of(Shout()) is None

    def test_builtin_without_attributes(self) -> None:
        """A callable that takes no attributes (a builtin) can carry an assessor too."""
        assert assessed_by(assess_upper)(str.upper) is str.upper
        assert assessor_of(str.upper) is assess_upper
        assert assess(str.upper, "ab").reason == "upper"

    def test_wrapper_does_not_inherit(self) -> None:
        """A `functools.wraps` wrapper, which may change the output, has no assessor of its own."""

        @functools.wraps(to_upper)
        def wrapper(value: str) -> str:
            return to_upper(value) + "!"

        assert assessor_of(wrapper) is None
        assert assess(wrapper, "ab") == Outcome("AB!", confident=True)


class TestNoLeak:
    """Built post-processors are freed with their last reference (long-lived Lambdas)."""

    def test_city_normalizers_are_freed(self) -> None:
        """Fifty city normalizers, dropped, leave nothing behind."""
        gazetteer = Gazetteer.default().with_aliases({"la capital": "Bogotá D.C."})
        assert collected(lambda: make_city_normalizer(gazetteer))

    def test_institution_normalizers_are_freed(self) -> None:
        """Fifty institution normalizers, dropped, leave nothing behind."""
        assert collected(lambda: make_institution_normalizer(["COOMEVA"]), count=5)

    @pytest.mark.parametrize("count", [1, 50])
    def test_decorated_functions_are_freed(self, count: int) -> None:
        """Decorating a function does not keep it alive."""

        def factory() -> Callable[[str], str]:
            def local(value: str) -> str:
                return value

            return assessed_by(assess_upper)(local)

        assert collected(factory, count)
