"""The gazetteer: which place a city value names, by exact, qualified or fuzzy match.

`Gazetteer` matches raw form input against the DIVIPOLA places of `divipola`, their
aliases and the short forms people call them by: on `place_key` keys (so case, accents,
punctuation and spacing never matter), with a department qualifier before or after the
name, and with a bounded fuzzy search for typos. A name that several places are named or
called by is shared: it resolves only to a preferred place, and is confident only when that
place dominates every other one (`Gazetteer.is_ambiguous`). The `ciudad` post-processor
built on it, and its convention, are in `llm_normalize.postprocessors.places`; the search
behind `Gazetteer.candidate_places` is in `_place_candidates`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final

from llm_normalize.exceptions import ConfigurationError
from llm_normalize.postprocessors._place_candidates import (
    COUNTRY_WORDS,
    MAX_QUALIFIER_WORDS,
    MIN_FUZZY_LENGTH,
    TWO_EDIT_LENGTH,
    CandidateFinder,
)
from llm_normalize.postprocessors.base import Outcome
from llm_normalize.postprocessors.divipola import (
    Department,
    GazetteerData,
    Place,
    load_data,
    place_key,
)
from llm_normalize.postprocessors.text import _capitalize_name, clean_text, recase, stable

__all__ = ["Gazetteer"]

# Reasons of a match that names exactly one place.
_RESOLVED: Final = frozenset({"known", "alias", "fuzzy"})

# Places that a department qualifier other than their own also selects:
# "Bogotá, Cundinamarca" is common and unambiguous.
_EXTRA_DEPARTMENTS: Final = {"11001": frozenset({"25"})}

# Fuzzy matching bounds: MIN_FUZZY_LENGTH and TWO_EDIT_LENGTH (in `_place_candidates`, which
# shares them); the best place must beat every other candidate by one edit.
# A fuzzy match is confident only for a typed key this long, one letter short of the place's
# key or with two neighbours swapped (the typos people make: "Baranquilla", "Bucaramnga"),
# or six long when the letter dropped is one of a double ("Medelin"), and with no other
# place within two edits. An extra or a changed letter is more often another
# place: villages such as "La Caldera" or "Montera" are one edit from "La Calera", "Montería".
_CONFIDENT_FUZZY_LENGTH: Final = 8
_CONFIDENT_DOUBLED_LENGTH: Final = 6
_CONFIDENT_FUZZY_MARGIN: Final = 3
# Keys shorter than this ("bta", "mde") are exact-only: never fuzzy targets.
_MIN_FUZZY_TARGET_LENGTH: Final = 4
# A department capital (DIVIPOLA code "xx001") typed without two neighbouring letters, a
# dropped syllable ("Bucamanga"), is one slip, not two edits, from this many characters.
_SYLLABLE_LENGTH: Final = 8
_CAPITAL_SUFFIX: Final = "001"

# Words that other systems write around a place: "CHIGORODÓ Municipios", "Municipio de
# Chía", "Cali, Departamento del Valle", "Colombia - Bogotá". Set aside, with a "de" or
# "del" after them, only when the value does not match as typed ("Ciudad Bolívar" is a
# municipality).
_FILLER_WORDS: Final = frozenset(
    {"municipio", "municipios", "mpio", "mcpio", "ciudad", "departamento", "depto", "dpto"}
)
_FILLER_LINKS: Final = frozenset({"de", "del"})

_ASSESS_CACHE_SIZE: Final = 8192


@dataclass(frozen=True, slots=True)
class _Match:
    reason: str
    places: tuple[Place, ...] = ()
    department: Department | None = None
    confident: bool = False
    shared: bool = False  # the key names or is said for several places


@functools.cache
def _default_gazetteer() -> Gazetteer:
    return Gazetteer(load_data())


@dataclass(frozen=True, slots=True)
class _FuzzyIndex:
    keys: list[str]
    longest: int


class Gazetteer:
    """The places a city value can resolve to, with their aliases; immutable.

    Get the built-in one with `Gazetteer.default()` and extend it with `with_aliases`;
    the constructor is internal. All lookups take raw form input: they clean and fold it
    first, so case, accents, punctuation and spacing do not matter. A gazetteer never
    changes after it is built, so one instance can serve many threads.

    Examples:
        >>> gazetteer = Gazetteer.default()
        >>> gazetteer.lookup("MEDELLIN, ANTIOQUIA")
        Place(name='Medellín', department='Antioquia', code='05001')
        >>> gazetteer.resolve("Barranqilla").name
        'Barranquilla'
        >>> gazetteer.normalize("barbosa santander")
        'Barbosa (Santander)'
    """

    def __init__(self, data: GazetteerData) -> None:
        self._data = data
        self._by_code = {place.code: place for place in data.places}
        # A bare key means every place it names, is an alias of or shortens ("Santuario":
        # Santuario and El Santuario), but what a user alias says replaces all that; a key
        # next to a department qualifier prefers names, so a user alias never hides a real place.
        bare: dict[str, tuple[Place, ...]] = {}
        for index in (data.names, data.aliases, data.readings):
            for key, places in index.items():
                bare[key] = _union(bare.get(key, ()), places)
        bare.update(data.custom)
        self._bare = bare
        self._name_keys = {place: place_key(place.name) for place in data.places}
        # Keys a typo may be matched against. Not one word of a longer name ("calera" of La
        # Calera, "lopez" of López de Micay): a slip in part of a name is too far from the
        # name to guess ("Valera" is no typo of La Calera).
        self._fuzzy_targets: frozenset[str] = frozenset(
            key for key, places in bare.items() if not self._partial(key, places)
        )
        # Keys without spaces, so that "Villa Maria" finds "Villamaría" and "B/quilla" "bquilla".
        compact: dict[str, set[str]] = {}
        for key in self._bare:
            compact.setdefault(key.replace(" ", ""), set()).add(key)
        self._compact = {short: keys.pop() for short, keys in compact.items() if len(keys) == 1}
        self._fuzzy_index: _FuzzyIndex | None = None
        self._assess_cached = functools.lru_cache(maxsize=_ASSESS_CACHE_SIZE)(self._assess)
        self._candidates_cached = functools.lru_cache(maxsize=_ASSESS_CACHE_SIZE)(
            CandidateFinder(self).find
        )

    def _partial(self, key: str, places: tuple[Place, ...]) -> bool:
        """Whether a one-word key is only one word of each of its places' names.

        Initials do not count as words: "bogota" is all of "Bogotá D.C." that matters.
        """
        if " " in key:
            return False
        for name in map(self._name_key, places):
            words = name.split()
            if key not in words or not any(len(word) > 1 and word != key for word in words):
                return False
        return True

    @classmethod
    def default(cls) -> Gazetteer:
        """Return the built-in gazetteer, loaded from the package data on first use."""
        return _default_gazetteer()

    def __len__(self) -> int:
        return len(self._data.places)

    def __iter__(self) -> Iterator[Place]:
        return iter(self._data.places)

    def __repr__(self) -> str:
        aliases = len(self._data.aliases) + len(self._data.custom)
        return f"Gazetteer({len(self)} places, {aliases} aliases)"

    @property
    def places(self) -> tuple[Place, ...]:
        """Every place, in DIVIPOLA code order."""
        return self._data.places

    def with_aliases(self, aliases: Mapping[str, str | Place]) -> Gazetteer:
        """Return a new gazetteer that also knows `aliases`; this one is unchanged.

        Args:
            aliases: Alias -> target. The alias is matched like any input (by its `fold`
                key). The target is a `Place` of this gazetteer, a DIVIPOLA code, or any
                text that `lookup` resolves to exactly one place ("Bogotá D.C.",
                "Barbosa (Santander)"). An alias replaces whatever its key meant before
                on its own, but a place's own name still works next to its department.

        Raises:
            ConfigurationError: An alias is empty or names the country, or a target does not
                name exactly one place.

        Examples:
            >>> custom = Gazetteer.default().with_aliases({"la capital": "Bogota D.C."})
            >>> custom.normalize("LA CAPITAL")
            'Bogotá D.C.'
        """
        merged = dict(self._data.custom)
        for alias, target in aliases.items():
            key = place_key(alias)
            if not key or key in COUNTRY_WORDS:
                raise ConfigurationError(
                    "a city alias must have letters or digits and not name the country"
                )
            place = self._target(target)
            if place is None:
                raise ConfigurationError(
                    f"the target of city alias {alias!r} does not name exactly one known place"
                )
            merged[key] = (place,)
        return Gazetteer(dataclasses.replace(self._data, custom=merged))

    def _target(self, target: str | Place) -> Place | None:
        if isinstance(target, Place):
            return target if self._by_code.get(target.code) == target else None
        if target in self._by_code:
            return self._by_code[target]
        return self.lookup(target)

    def lookup(self, value: str) -> Place | None:
        """Return the one place `value` names exactly (by name, alias or qualified name).

        No fuzzy matching. None when the value is unknown, ambiguous ("Barbosa" alone),
        only a department, the country, or contradicts itself ("Cali, Antioquia").
        """
        match = self._match(clean_text(value), fuzzy=False)
        return match.places[0] if match.reason in _RESOLVED else None

    def resolve(self, value: str) -> Place | None:
        """Return the one place `value` names, tolerating typos; None if there is none.

        Exact matches as in `lookup` come first (spaces do not count there either:
        "Villa Maria" is Villamaría). On a miss, a bounded fuzzy search runs over the keys
        of every name and alias of four or more characters (optimal string alignment
        distance: one edit is an insertion, deletion, substitution or swap of neighbours):

        - values shorter than five characters never match fuzzily ("Cota" is Cota or
          nothing), nor do values with digits;
        - at most one edit below twelve characters, two from twelve on; a department
          capital without two neighbouring letters ("Bucamanga") counts as one edit;
        - a one-word alias or short form that is only part of its place's name ("calera",
          "lopez") is matched exactly only;
        - the best place must be strictly closer than any other candidate place, and
          ties or ambiguous namesakes give no match;
        - with a department qualifier only that department's places compete.

        "Barranqilla" and "Bucaramnga" resolve; "Sogamoso" never becomes "Soacha", and a
        word that is no place stays unresolved.
        """
        match = self._match(clean_text(value), fuzzy=True)
        return match.places[0] if match.reason in _RESOLVED else None

    def candidates(self, value: str) -> tuple[Place, ...]:
        """Return every place `value` names exactly: one, several namesakes, or none.

        A value that resolves gives its place only; a shared name gives every place named,
        aliased or commonly called by it ("Santuario": El Santuario and Santuario).

        Examples:
            >>> [place.department for place in Gazetteer.default().candidates("barbosa")]
            ['Antioquia', 'Santander']
        """
        return self._match(clean_text(value), fuzzy=False).places

    def is_ambiguous(self, value: str) -> bool:
        """Say whether `value` names several places and nothing in it says which one.

        A name is shared when several places are named by it ("Barbosa"), or when it is an
        alias of another place or the short form another place is commonly called by
        ("Santuario" is Santuario, Risaralda, and El Santuario, Antioquia; "Manaure" is
        Manaure, La Guajira, and Manaure Balcón del Cesar). A department settles it
        ("Santuario, Antioquia"); so does a preferred place that dominates every other
        ("Armenia", "Cartagena"). An ambiguous value is never confident; it may still
        resolve to a preferred namesake ("San Andrés", the archipelago's, although San
        Andrés de Sotavento is called San Andrés too).

        Examples:
            >>> gazetteer = Gazetteer.default()
            >>> gazetteer.is_ambiguous("Santuario"), gazetteer.is_ambiguous("El Santuario")
            (True, False)
            >>> gazetteer.is_ambiguous("Santuario, Antioquia"), gazetteer.is_ambiguous("Armenia")
            (False, False)
        """
        match = self._match(clean_text(value), fuzzy=False)
        return match.reason == "ambiguous" or (match.shared and not match.confident)

    def candidate_places(self, value: str) -> tuple[Place, ...]:
        """Return every place `value` may be read as, for checking what a model made of it.

        Wider than `resolve`, which must pick one place, and as precise:

        - a value that resolves names that place only ("bogta": Bogotá D.C.);
        - otherwise the places it names exactly, every namesake ("Barbosa": both Barbosas,
          never Barbacoas), and every place it is an alias or a short form of
          ("Santuario": Santuario and El Santuario);
        - otherwise the nearest places within a bounded fuzzy match (optimal string
          alignment, spaces ignored) on the folded key or on a Spanish spelling key, where
          letters that sound alike count as one ("z", "s" and a soft "c"; "ll" and "y";
          "qu", "k" and a hard "c"; "v" and "b"; a soft "g" and "j"; a silent "h"; a
          doubled letter): nothing fuzzy below five characters, one edit below twelve,
          two from twelve on ("barankilla": Barranquilla; "medejin": Medellín; "Caracas"
          and "Quito": none);
        - a department typed before or after the name, exactly or within those bounds,
          keeps only its own places ("Barbosa, Santnder": Barbosa in Santander); words
          for the country, a part of town or an island at either end are set aside
          ("bogota colombia sur": Bogotá D.C.; "San Andres isla": San Andrés);
        - a department alone, the country, a value with digits, a known city next to
          another department ("Cali, Antioquia"), more than sixteen words, or anything
          else: no place.

        Examples:
            >>> gazetteer = Gazetteer.default()
            >>> [place.name for place in gazetteer.candidate_places("barankilla")]
            ['Barranquilla']
            >>> [place.department for place in gazetteer.candidate_places("Barbosa")]
            ['Antioquia', 'Santander']
            >>> gazetteer.candidate_places("Caracas")
            ()
        """
        return self._candidates_cached(value)

    def render(self, place: Place) -> str:
        """Return how the post-processor writes `place`.

        Its canonical name when that name alone resolves to it, else the name with the
        department's short name in parentheses: "Armenia (Antioquia)".
        """
        match = self._bare_match(self._name_key(place))
        if match is not None and match.reason in _RESOLVED and match.places[0] == place:
            return place.name
        label = self._data.departments[place.department_code].label
        return f"{place.name} ({label})"

    def assess(self, value: str) -> Outcome:
        """Normalize a city value and say whether the gazetteer recognised it.

        See `assess_city` for the rules; this is the same with this gazetteer's aliases.
        """
        return self._assess_cached(value)

    def normalize(self, value: str) -> str:
        """Normalize a city value: `assess(value).value`."""
        return self._assess_cached(value).value

    # -- matching -------------------------------------------------------------------------

    def _name_key(self, place: Place) -> str:
        key = self._name_keys.get(place)
        return key if key is not None else place_key(place.name)

    def _bare_places(self, key: str) -> tuple[Place, ...]:
        if key in COUNTRY_WORDS:
            return ()
        return self._bare.get(key, ())

    def _spelt(self, key: str) -> str:
        """Return the gazetteer key that `key` is, or is up to spaces; else `key` itself."""
        if key in self._bare:
            return key
        return self._compact.get(key.replace(" ", ""), key)

    def _pick(self, key: str, places: tuple[Place, ...]) -> Place | None:
        """The one place a shared key stands for: its preferred place, if it has one.

        Where the key is a place's name, only a place of that name can be preferred: an
        alias or a short form never takes a name away from the place that bears it.
        """
        if len(places) == 1:
            return places[0]
        named = () if key in self._data.custom else self._data.names.get(key, ())
        preferred = [
            place
            for place in places
            if place.code in self._data.preferred and (not named or place in named)
        ]
        return preferred[0] if len(preferred) == 1 else None

    def _dominates(self, key: str, picked: Place, places: tuple[Place, ...]) -> bool:
        """Whether the preferred `picked` is sure among `places`: it dominates each of them.

        A place preferred over its namesakes only ("San Andrés") is not sure where another
        place is also called by the name (San Andrés de Sotavento).
        """
        if len(places) == 1 or picked.code in self._data.dominant:
            return True
        namesakes = set(self._data.names.get(key, ()))
        return all(place in namesakes for place in places)

    @staticmethod
    def _accepts(place: Place, department: Department) -> bool:
        return place.department_code == department.code or department.code in (
            _EXTRA_DEPARTMENTS.get(place.code, frozenset())
        )

    def _qualified(self, key: str, department: Department) -> tuple[Place, ...]:
        key = self._spelt(key)
        data = self._data
        for index in (data.names, data.aliases, data.custom, data.readings):
            found = tuple(p for p in index.get(key, ()) if self._accepts(p, department))
            if found:
                return found
        return ()

    def _bare_match(self, key: str) -> _Match | None:
        """Match a key on its own, without a department qualifier."""
        key = self._spelt(key)
        places = self._bare_places(key)
        if not places:
            return None
        shared = len(places) > 1
        picked = self._pick(key, places)
        if picked is None:
            return _Match("ambiguous", places, shared=shared)
        # "Caldas" is a department and two municipalities, "Boyacá" a department and a small
        # town in it: only a capital named like its department ("Arauca"), or an explicit
        # alias, is sure.
        code = self._data.department_keys.get(key)
        capital = picked.department_code == code and picked.code.endswith("001")
        named_like_department = key in self._data.standalone_department_keys
        explicit = key in self._data.aliases or key in self._data.custom
        if named_like_department and not capital and not explicit:
            return _Match("ambiguous", places, shared=shared)
        known = self._known(key, (picked,))
        sure = self._dominates(key, picked, places)
        return dataclasses.replace(known, confident=known.confident and sure, shared=shared)

    def _known(self, key: str, places: tuple[Place, ...]) -> _Match:
        if len(places) > 1:
            return _Match("ambiguous", places)
        (place,) = places
        reason = "known" if self._spelt(key) == self._name_key(place) else "alias"
        return _Match(reason, places, confident=True)

    def _splits(self, words: list[str]) -> Iterator[tuple[str, Department]]:
        """Yield (rest, department) for each way of reading a trailing or leading department."""
        departments = self._data.departments
        limit = min(MAX_QUALIFIER_WORDS, len(words) - 1)
        for size in range(limit, 0, -1):
            code = self._data.department_keys.get(" ".join(words[-size:]))
            if code is not None:
                yield " ".join(words[:-size]), departments[code]
        for size in range(limit, 0, -1):
            code = self._data.department_keys.get(" ".join(words[:size]))
            if code is not None:
                yield " ".join(words[size:]), departments[code]

    def _match(self, text: str, *, fuzzy: bool) -> _Match:
        words = place_key(text).split()
        if not words:
            return _Match("unknown")
        readings = [words]
        kept = _without_filler(words)
        if kept and kept != words:
            readings.append(kept)
        for reading in readings:
            match = self._match_words(list(reading), fuzzy=False)
            if match.reason != "unknown":
                return match
        if fuzzy:
            for reading in readings:
                match = self._match_words(list(reading), fuzzy=True)
                if match.reason != "unknown":
                    return match
        return _Match("unknown")

    def _match_words(self, words: list[str], *, fuzzy: bool) -> _Match:
        """Match the words of a key: exactly, with a department, then (if asked) fuzzily."""
        while True:
            core = " ".join(words)
            if core in COUNTRY_WORDS:
                return _Match("country")
            bare = self._bare_match(core)
            if bare is not None:
                return bare
            # "Bogotá, Colombia": drop the country, but only after "Puerto Colombia" had its turn.
            if len(words) > 1 and words[-1] in COUNTRY_WORDS:
                words.pop()
                continue
            break
        splits = list(self._splits(words))
        conflict = False
        for rest, department in splits:
            found = self._qualified(rest, department)
            if found:
                return self._known(rest, found)
            conflict = conflict or bool(self._bare_places(self._spelt(rest)))
        if conflict:
            return _Match("conflict")
        if core in self._data.standalone_department_keys:
            code = self._data.department_keys[core]
            return _Match("department", department=self._data.departments[code])
        if fuzzy:
            for query, qualifier in [*splits, (core, None)]:
                fuzzy_match = self._fuzzy(query, qualifier)
                if fuzzy_match is not None:
                    return fuzzy_match
        return _Match("unknown")

    def _fuzzy_keys(self) -> _FuzzyIndex:
        if self._fuzzy_index is None:
            keys = sorted(
                key
                for key in self._fuzzy_targets
                if len(key) >= _MIN_FUZZY_TARGET_LENGTH and key not in COUNTRY_WORDS
            )
            self._fuzzy_index = _FuzzyIndex(keys, max(map(len, keys), default=0))
        return self._fuzzy_index

    def _fuzzy(self, query: str, department: Department | None) -> _Match | None:
        index = self._fuzzy_keys()
        if len(query) < MIN_FUZZY_LENGTH or len(query) > index.longest + 2:
            return None
        if any(char.isdigit() for char in query):
            # Place names have no digits: a typed digit must not vanish into a near match.
            return None
        allowed = 1 if len(query) < TWO_EDIT_LENGTH else 2
        # Imported here: rapidfuzz is needed only on a miss, and `import llm_normalize` stays light.
        from rapidfuzz import process
        from rapidfuzz.distance import OSA, Levenshtein

        hits = process.extract(
            query, index.keys, scorer=OSA.distance, score_cutoff=allowed + 1, limit=None
        )
        # Each key stands for one place, or for a "blocker" when it names several namesakes
        # that this query cannot tell apart: a blocker competes but never wins. A key that
        # resolves without being sure ("San Andrés") makes its fuzzy matches unsure too.
        distances: dict[Place | str, int] = {}
        targets: dict[Place, str] = {}
        unsure: set[Place] = set()
        for key, distance, _ in hits:
            target: Place | str | None
            if department is not None:
                places = self._qualified(key, department)
                if not places:
                    continue
                target = places[0] if len(places) == 1 else None
            else:
                bare = self._bare_match(key)
                target = bare.places[0] if bare is not None and bare.reason in _RESOLVED else None
                if target is not None and bare is not None and not bare.confident:
                    unsure.add(target)
            if target is None:
                target = f"blocker:{key}"
            elif _drops_a_syllable(key, query, target):
                distance = 1  # one slip: "Bucamanga"
            if distance < distances.get(target, allowed + 2):
                distances[target] = distance
                if isinstance(target, Place):
                    targets[target] = key
        if not distances:
            return None
        ranked = sorted(distances.items(), key=lambda item: item[1])
        best, best_distance = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else allowed + 2
        if not isinstance(best, Place) or best_distance > allowed or runner_up <= best_distance:
            return None
        key = targets[best]
        confident = (
            best_distance == 1
            and runner_up >= _CONFIDENT_FUZZY_MARGIN
            and best not in unsure
            and (
                _drops_a_syllable(key, query, best)
                or _typo_like(query, key, Levenshtein.distance(query, key))
            )
        )
        return _Match("fuzzy", (best,), confident=confident)

    def _assess(self, value: str) -> Outcome:
        text = clean_text(value)
        if not text:
            return Outcome("", confident=True, reason="empty")
        match = self._match(text, fuzzy=True)
        if match.reason in _RESOLVED:
            return Outcome(self.render(match.places[0]), match.confident, match.reason)
        if match.reason == "ambiguous":
            return Outcome(self._render_ambiguous(text, match.places), False, "ambiguous")
        if match.department is not None:
            return Outcome(match.department.name, confident=False, reason="department")
        return Outcome(_tidy(text), confident=False, reason=match.reason)

    def _render_ambiguous(self, text: str, places: tuple[Place, ...]) -> str:
        """The shared name as its places write it when that is what was typed, else the text tidied."""
        key = self._spelt(place_key(text))
        names = {place.name for place in places if self._name_key(place) == key}
        if len(names) == 1:
            return names.pop()
        return _tidy(text)


def _union(first: tuple[Place, ...], second: Iterable[Place]) -> tuple[Place, ...]:
    """The places of both, once each, in DIVIPOLA code order."""
    return tuple(sorted({*first, *second}, key=lambda place: place.code))


def _without_filler(words: list[str]) -> list[str]:
    """Drop the words other systems write around a place, and a leading country.

    "chigorodo municipios" -> "chigorodo"; "municipio de chia" -> "chia";
    "cali departamento del valle" -> "cali valle"; "colombia bogota" -> "bogota".
    """
    kept: list[str] = []
    skip_link = False
    for word in words:
        if word in _FILLER_WORDS:
            skip_link = True
            continue
        if skip_link and word in _FILLER_LINKS:
            skip_link = False
            continue
        skip_link = False
        kept.append(word)
    while len(kept) > 1 and kept[0] in COUNTRY_WORDS:
        kept.pop(0)
    return kept


def _drops_a_syllable(key: str, typed: str, place: Place) -> bool:
    """Say whether `typed` is a department capital's `key` without two neighbouring letters.

    "bucamanga" is "bucaramanga" without "ra": a dropped syllable, one slip for a name
    people type every day. Only capitals, typed eight characters or more, and never the
    first letter.
    """
    if not place.code.endswith(_CAPITAL_SUFFIX) or len(typed) < _SYLLABLE_LENGTH:
        return False
    if len(key) != len(typed) + 2:
        return False
    return any(key[:index] + key[index + 2 :] == typed for index in range(1, len(key) - 2))


def _typo_like(typed: str, key: str, levenshtein: int) -> bool:
    """Say whether `typed`, one edit from `key`, looks like a slip rather than another name.

    A doubled letter typed once ("medelin", "baranquilla") or a letter typed twice
    ("sogamosso") counts from six characters on; any other dropped letter, or two
    neighbours swapped, from eight characters on. Other slips are never sure.
    """
    if len(typed) + 1 == len(key):
        doubled = _drops_a_double(key, typed)
        return len(typed) >= (_CONFIDENT_DOUBLED_LENGTH if doubled else _CONFIDENT_FUZZY_LENGTH)
    if len(typed) == len(key) + 1:
        return len(key) >= _CONFIDENT_DOUBLED_LENGTH and _drops_a_double(typed, key)
    swapped = len(typed) == len(key) and levenshtein == 2
    return swapped and len(typed) >= _CONFIDENT_FUZZY_LENGTH


def _drops_a_double(longer: str, shorter: str) -> bool:
    """Say whether `shorter` is `longer` with one letter of a doubled pair removed."""
    return any(
        longer[:index] + longer[index + 1 :] == shorter
        for index in range(1, len(longer))
        if longer[index] == longer[index - 1]
    )


def _tidy(text: str) -> str:
    """Capitalise an unrecognised value like a name: "san juan de la costa" -> "San Juan de la Costa".

    Parts of a word split by a slash are capitalised each: "N/A" stays "N/A". Capitalised
    like a name but without the names' placeholder rule: "ninguna" is "Ninguna" here.
    """
    capitalized = stable(_capitalize_name(text), text)
    rendered = " ".join(
        "/".join(recase(part) for part in word.split("/")) if "/" in word else word
        for word in capitalized.split(" ")
    )
    # Recasing can turn odd Unicode into what ftfy reads as mojibake: keep the safe form then.
    return stable(rendered, capitalized)
