"""Spanish text: the one accent fold, and the small words Spanish writes lower-case.

`plain` is the accent fold every matching key is built on: case-folded, accents and other
combining marks removed, every other character kept. (`text.fold` adds cleaning and drops
punctuation on top of it, for gazetteer and vocabulary keys.)

The small words come in four classes: `ARTICLES`, `CONTRACTIONS`, `PREPOSITIONS` and
`CONJUNCTIONS`. Each kind of value writes a different part of them lower-case, because the
same letters mean different things in a person's name, a title and an address; the sets
below name each use and say why it differs. All keys are lower-case, as typed after
`str.casefold`, and without accents only where Spanish writes none ("dé" is not "de").
"""

from __future__ import annotations

import functools
import unicodedata
from typing import Final

__all__ = [
    "ADDRESS_PARTICLES",
    "ADDRESS_PREPOSITIONS",
    "ARTICLES",
    "CONJUNCTIONS",
    "CONNECTORS",
    "CONTRACTIONS",
    "NAME_ARTICLES",
    "NAME_PARTICLES",
    "PREPOSITIONS",
    "TITLE_MIDDLE_ONLY",
    "TITLE_PARTICLES",
    "plain",
]

ARTICLES: Final = frozenset({"el", "la", "los", "las"})
"""The definite articles."""

CONTRACTIONS: Final = frozenset({"al", "del"})
"""A preposition fused with "el": "a el" is written "al", "de el" "del"."""

PREPOSITIONS: Final = frozenset({"a", "de", "en", "con", "por", "para"})
"""The short prepositions found inside names and titles."""

CONJUNCTIONS: Final = frozenset({"y", "e", "o", "u"})
"""The conjunctions: "y" and "e" ("and"; "e" before an i- sound), "o" and "u" ("or")."""

NAME_PARTICLES: Final = frozenset({"de", "del", "y"})
"""Lower-case inside a person's name: "María de los Ángeles", "Pérez y Sotomayor".

Only these join Spanish surnames. Any other one-letter word in a name is an initial
("Juan E. Pérez"), so "e", "o", "u" and "a" keep their capital.
"""

NAME_ARTICLES: Final = ARTICLES - {"el"}
"""Lower-case in a name after "de": "de la Cruz", "de los Ríos".

Not "el": Spanish always contracts "de el" to "del", so an "El" after "de" starts a proper
name of its own and keeps its capital.
"""

TITLE_PARTICLES: Final = (PREPOSITIONS - {"a"}) | CONTRACTIONS | {"y"}
"""Lower-case anywhere after the first word of a job title or an organisation's name.

"Ingeniero de Sistemas", "Banco de la República", "Técnico en Sistemas". In titles "a" is
lower-case only between two words (`TITLE_MIDDLE_ONLY`: "Vitamina A"), "e" only before an
i- sound (decided where titles are cased), and "o" and "u" not at all, so that a lone
letter in an organisation's name keeps its capital. Articles are lower-case there only
after one of `PREPOSITIONS` ("Universidad de los Andes", but "Distribuidora Los Andes").
"""

TITLE_MIDDLE_ONLY: Final = frozenset({"a"})
"""Lower-case in a title only between two words: "Atención a la Primera Infancia"."""

ADDRESS_PARTICLES: Final = frozenset({"de", "a", "en"}) | CONTRACTIONS | CONJUNCTIONS
"""Lower-case inside the name of a street, neighbourhood or farm: "Vía al Mar".

Place names take only these prepositions ("Barrio 20 de Julio", "San José de la Montaña"),
and every conjunction. Where addresses are cased, a one-letter particle other than "y" and
"e" is lower-case only after another word, so that "Conjunto A" keeps its letter.
"""

ADDRESS_PREPOSITIONS: Final = frozenset({"de", "a", "en"})
"""The prepositions after which an article is lower-case in an address: "Vía a la Costa".

An article starting a name is part of it: "Vereda El Salitre".
"""

CONNECTORS: Final = ARTICLES | CONTRACTIONS | (PREPOSITIONS - {"a"}) | (CONJUNCTIONS - {"u"})
"""Words a model may add to or drop from free text: "Ing. Sistemas" -> "Ingeniero de Sistemas".

Not "a", a letter in too many values ("Bloque A", "Grado A"), nor "u", which abbreviates
"Universidad" ("U de Antioquia") and must be found again like any other word.
"""

_FOLD_CACHE_SIZE: Final = 4096


@functools.lru_cache(maxsize=_FOLD_CACHE_SIZE)
def plain(text: str) -> str:
    """Case-fold and strip accents, keeping every other character: "Técnico." -> "tecnico.".

    Compatibility forms are decomposed too ("ﬁ" -> "fi", "Nº" -> "no"), and "ñ" folds to
    "n". Keys are for matching only, never for output.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))
