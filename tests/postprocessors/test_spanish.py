import re
import unicodedata

from hypothesis import given

from llm_normalize.postprocessors import spanish
from llm_normalize.postprocessors.spanish import (
    ARTICLES,
    CONJUNCTIONS,
    CONNECTORS,
    CONTRACTIONS,
    NAME_PARTICLES,
    PREPOSITIONS,
    plain,
)
from llm_normalize.postprocessors.text import clean_text, fold
from strategies import any_text, form_text

SMALL_WORDS = ARTICLES | CONTRACTIONS | PREPOSITIONS | CONJUNCTIONS


class TestParticles:
    def test_each_use_is_made_of_small_words(self) -> None:
        """Every use-specific set is drawn from the four word classes."""
        for name in spanish.__all__:
            value = getattr(spanish, name)
            if isinstance(value, frozenset):
                assert value <= SMALL_WORDS, name

    def test_sets_are_the_ones_each_caser_used(self) -> None:
        """The sets are exactly those the name, title, address casers and the guard used before."""
        expected = {
            "NAME_PARTICLES": {"de", "del", "y"},
            "NAME_ARTICLES": {"la", "las", "los"},
            "TITLE_PARTICLES": {"de", "del", "y", "en", "con", "por", "para", "al"},
            "TITLE_MIDDLE_ONLY": {"a"},
            "PREPOSITIONS": {"de", "en", "a", "con", "por", "para"},
            "ARTICLES": {"el", "la", "las", "los"},
            "ADDRESS_PARTICLES": {"de", "del", "y", "e", "o", "u", "a", "al", "en"},
            "ADDRESS_PREPOSITIONS": {"de", "a", "en"},
            "CONNECTORS": {
                "de", "del", "la", "las", "el", "los", "en", "y", "e", "o", "al", "para", "por",
                "con",
            },
        }  # fmt: skip
        for name, words in expected.items():
            assert getattr(spanish, name) == words, name

    def test_letters_that_are_words_elsewhere(self) -> None:
        """A one-letter word is a particle only where it cannot be an initial or a letter."""
        assert not {"a", "e", "o", "u"} & NAME_PARTICLES
        assert "a" not in CONNECTORS
        assert "u" not in CONNECTORS  # "U" abbreviates "Universidad"


class TestPlain:
    def test_examples(self) -> None:
        """Case and accents go, every other character stays."""
        assert plain("Técnico.") == "tecnico."
        assert plain("PEÑOL") == "penol"
        assert plain("Nº 5") == "no 5"
        assert plain("Иван") == "иван"

    @given(any_text)
    def test_total_and_without_marks(self, value: str) -> None:
        """Never raises, and leaves no combining mark."""
        assert not any(unicodedata.combining(char) for char in plain(value))

    @given(form_text)
    def test_fold_is_plain_without_punctuation(self, value: str) -> None:
        """`fold` is `plain` of the cleaned text with punctuation turned into spaces."""
        expected = re.sub(r"[^0-9a-z]+", " ", plain(clean_text(value))).strip()
        assert fold(value) == expected
