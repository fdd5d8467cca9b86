"""The candidate places of a city value: what `Gazetteer.candidate_places` searches, and how.

Private to `llm_normalize.postprocessors.gazetteer`. `CandidateFinder` holds one
gazetteer's spelling indexes, built on first use, and finds the places a value may be
read as (the rules are in the docstring of `Gazetteer.candidate_places`). It also holds
what both searches share, so that the gazetteer imports it and not the other way round:
the words for the country, the longest department qualifier and the bounds of a fuzzy
match.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from llm_normalize.postprocessors.divipola import Department, Place, place_key
from llm_normalize.postprocessors.text import clean_text

if TYPE_CHECKING:
    from llm_normalize.postprocessors.gazetteer import Gazetteer

__all__ = [
    "COUNTRY_WORDS",
    "MAX_QUALIFIER_WORDS",
    "MIN_FUZZY_LENGTH",
    "TWO_EDIT_LENGTH",
    "CandidateFinder",
]

# Words that name the country. On their own they are not a city (although Colombia, Huila,
# is one: write "Colombia, Huila"); at the end of a value they are dropped.
COUNTRY_WORDS: Final = frozenset({"colombia", "col"})
# Department qualifiers have at most this many words (the archipelago's full name has eight).
MAX_QUALIFIER_WORDS: Final = 8
# Fuzzy matching bounds: no fuzzy match for keys shorter than this; one edit (insertion,
# deletion, substitution or transposition of neighbours) up to TWO_EDIT_LENGTH characters,
# two edits from there on.
MIN_FUZZY_LENGTH: Final = 5
TWO_EDIT_LENGTH: Final = 12

# Candidate places (`candidate_places`): no fuzzy match below MIN_FUZZY_LENGTH characters
# (only the same spelling key), one edit below TWO_EDIT_LENGTH, two from there on; the
# nearest places win. Words at either end that say where in a place or country, or what
# kind of place, not which ("Bogotá sur", "Cali, Colombia", "San Andrés isla"), are set
# aside first, at most
# _MAX_CANDIDATE_NOISE_WORDS at each end. A value of more than _MAX_CANDIDATE_WORDS words
# is a sentence, not a place: it has no candidate unless it resolves.
_CANDIDATE_NOISE_WORDS: Final = COUNTRY_WORDS | frozenset(
    {"sur", "norte", "oriente", "occidente", "centro", "este", "oeste", "isla"}
)
_MAX_CANDIDATE_NOISE_WORDS: Final = 2
_MAX_CANDIDATE_WORDS: Final = 16
# Spanish spellings of one sound, as `_spelling_key` writes them.
_SPELLING_SOFT_VOWELS: Final = frozenset("ei")
_SPELLING_LETTERS: Final = {"z": "s", "v": "b", "w": "u"}


@dataclass(frozen=True, slots=True)
class _SpellingIndex:
    """Keys without spaces, and as `_spelling_key` writes them, in the order of `keys`."""

    keys: list[str]
    compact: list[str]
    spelled: list[str]
    longest: int

    @classmethod
    def of(cls, keys: list[str]) -> _SpellingIndex:
        compact = [key.replace(" ", "") for key in keys]
        spelled = [_spelling_key(key) for key in keys]
        return cls(keys, compact, spelled, max(map(len, compact), default=0))

    def nearest(self, key: str) -> dict[str, int]:
        """Return {key: distance} of the keys nearest to `key`, folded or spelled, within bounds.

        Bounds as in `Gazetteer.candidate_places`, on the length typed: exact only below
        MIN_FUZZY_LENGTH characters, one edit below TWO_EDIT_LENGTH, two from there on;
        the spelled key counts as at most one letter longer than it is.
        A key with a digit, or longer than every key by more than two, meets nothing.
        """
        typed = key.replace(" ", "")
        if not typed or len(typed) > self.longest + 2 or any(char.isdigit() for char in typed):
            return {}
        # Imported here: rapidfuzz is needed only on a miss; `import llm_normalize` stays light.
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        spelled = _spelling_key(typed)
        searches = (
            (typed, self.compact, _allowed_edits(len(typed))),
            # A spelling may drop a letter (a silent "h", a doubled letter) and still count
            # as long as typed, but no more: "aaaaaaaaaaaa", spelled "a", stays short.
            (
                spelled,
                self.spelled,
                min(_allowed_edits(len(typed)), _allowed_edits(len(spelled) + 1)),
            ),
        )
        distances: dict[str, int] = {}
        for query, choices, allowed in searches:
            if allowed == 0 and choices is self.compact:
                continue  # the folded key itself is looked up exactly by the caller
            for _, distance, index in process.extract(
                query, choices, scorer=OSA.distance, score_cutoff=allowed, limit=None
            ):
                found = self.keys[index]
                distances[found] = min(distance, distances.get(found, distance))
        return distances


class CandidateFinder:
    """The candidate places of one gazetteer, with its spelling indexes; built on first use.

    Not memoised: `Gazetteer.candidate_places` caches `find`.
    """

    def __init__(self, gazetteer: Gazetteer) -> None:
        self._gazetteer = gazetteer
        self._data = gazetteer._data
        self._spelling_index: _SpellingIndex | None = None
        self._department_index: _SpellingIndex | None = None

    def find(self, value: str) -> tuple[Place, ...]:
        """Return every place `value` may be read as: see `Gazetteer.candidate_places`."""
        text = clean_text(value)
        resolved = self._gazetteer.resolve(text)
        if resolved is not None:
            return (resolved,)
        typed = place_key(text).split()
        if not typed or len(typed) > _MAX_CANDIDATE_WORDS or any(map(_has_digit, typed)):
            return ()
        # As typed, then without each noise word at the ends in turn: "puerto colombia sur"
        # is Puerto Colombia, "bogota colombia sur" Bogotá.
        variants = [typed]
        words = list(typed)
        for _ in range(_MAX_CANDIDATE_NOISE_WORDS):
            if len(words) > 1 and words[-1] in _CANDIDATE_NOISE_WORDS:
                words = words[:-1]
                variants.append(words)
        for _ in range(_MAX_CANDIDATE_NOISE_WORDS):
            if len(words) > 1 and words[0] in _CANDIDATE_NOISE_WORDS:
                words = words[1:]
                variants.append(words)
        for variant in variants[1:]:
            if (place := self._gazetteer.resolve(" ".join(variant))) is not None:
                return (place,)
        found: dict[Place, None] = {}
        for variant in variants:
            for rest, department in [(" ".join(variant), None), *self._splits(variant)]:
                found.update(dict.fromkeys(self._query(rest, department)))
        return tuple(sorted(found, key=lambda place: place.code))

    def _splits(self, words: list[str]) -> Iterator[tuple[str, Department]]:
        """Yield (rest, department) for a department typed at either end, maybe misspelt."""
        for size in range(min(MAX_QUALIFIER_WORDS, len(words) - 1), 0, -1):
            for rest, qualifier in (
                (words[:-size], words[-size:]),
                (words[size:], words[:size]),
            ):
                department = self._near_department(" ".join(qualifier))
                if department is not None:
                    yield " ".join(rest), department

    def _near_department(self, key: str) -> Department | None:
        """The department `key` names, exactly or within the bounds; None if none or several."""
        code = self._data.department_keys.get(key)
        if code is None:
            if self._department_index is None:
                self._department_index = _SpellingIndex.of(
                    sorted(k for k in self._data.department_keys if len(k) >= MIN_FUZZY_LENGTH)
                )
            nearest = self._department_index.nearest(key)
            codes = {self._data.department_keys[found] for found in nearest}
            code = codes.pop() if len(codes) == 1 else None
        return None if code is None else self._data.departments[code]

    def _query(self, rest: str, department: Department | None) -> tuple[Place, ...]:
        """The places `rest` names exactly, else its nearest places, in `department` if given."""
        gazetteer = self._gazetteer
        if department is None:
            exact = gazetteer._bare_places(gazetteer._spelt(rest))
        else:
            exact = gazetteer._qualified(rest, department)
        if exact:
            return self._reading(gazetteer._spelt(rest), exact)
        if department is None and (
            rest in self._data.standalone_department_keys or rest in COUNTRY_WORDS
        ):
            return ()  # a department alone names none of its places, the country none
        if self._spelling_index is None:
            self._spelling_index = _SpellingIndex.of(
                sorted(k for k in gazetteer._fuzzy_targets if k not in COUNTRY_WORDS)
            )
        places: dict[Place, int] = {}
        for key, distance in self._spelling_index.nearest(rest).items():
            if department is not None:
                named = gazetteer._qualified(key, department)
            else:
                named = gazetteer._bare_places(key)
            for place in self._reading(key, named):
                places[place] = min(distance, places.get(place, distance))
        if not places:
            return ()
        best = min(places.values())
        return tuple(place for place, distance in places.items() if distance == best)

    def _reading(self, key: str, places: tuple[Place, ...]) -> tuple[Place, ...]:
        """The places a key may stand for: its preferred one when it has one, else all."""
        picked = self._gazetteer._pick(key, places)
        return places if picked is None else (picked,)


def _allowed_edits(length: int) -> int:
    """The edits a fuzzy candidate may be away from a key this long."""
    if length < MIN_FUZZY_LENGTH:
        return 0
    return 1 if length < TWO_EDIT_LENGTH else 2


def _has_digit(word: str) -> bool:
    return any(char.isdigit() for char in word)


def _spelling_key(key: str) -> str:
    """Write a folded key as it sounds in Spanish, without spaces, so that spellings of one sound meet.

    "z", a soft "c" ("ce", "ci") and "s" are "s"; a hard "c", "qu" and "k" are "k"; a soft
    "g" ("ge", "gi") is "j", and "gu" before "e" or "i" is "g"; "ll" is "y"; "v" is "b";
    "h" is silent ("ch" stays "c", no other "c" is left); doubled letters are single.
    "barankilla" and "barranquilla" are both "barankiya"; "medejin" is "medejin" and
    "medellin" "medeyin", one edit apart.
    """
    text = key.replace(" ", "")
    sounds: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        following = text[index + 1 : index + 2]
        after = text[index + 2 : index + 3]
        step = 1
        if char == "c":
            if following == "h":
                sound, step = "c", 2
            else:
                sound = "s" if following in _SPELLING_SOFT_VOWELS else "k"
        elif char == "g":
            if following == "u" and after in _SPELLING_SOFT_VOWELS:
                sound, step = "g", 2
            else:
                sound = "j" if following in _SPELLING_SOFT_VOWELS else "g"
        elif char == "q":
            sound, step = "k", 2 if following == "u" else 1
        elif char == "l" and following == "l":
            sound, step = "y", 2
        elif char == "h":
            sound = ""
        else:
            sound = _SPELLING_LETTERS.get(char, char)
        if sound and (not sounds or sounds[-1] != sound):
            sounds.append(sound)
        index += step
    return "".join(sounds)
