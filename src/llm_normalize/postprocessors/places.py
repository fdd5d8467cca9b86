"""Colombian cities: a gazetteer of DIVIPOLA places and the `ciudad` post-processor.

The convention: a value that names a known Colombian place comes out as that place's
canonical gazetteer name, whatever the spelling that came in.

- The gazetteer holds the 1,121 places of DANE's DIVIPOLA: 1,102 municipalities, the
  Capital District and the 18 *áreas no municipalizadas* of Amazonas, Guainía and Vaupés,
  each with its department and five-digit DIVIPOLA code.
- Canonical names are DIVIPOLA's, with DIVIPOLA's accents ("Medellín", "Cúcuta", "Ibagué",
  "Itagüí"), except eight cities known by a shorter name than their ceremonial one
  ("Bogotá D.C.", "Cartagena", "Cúcuta", "Buga", "Tumaco", "Mompox", "Mariquita", "Ubaté");
  the ceremonial names are aliases. Accents come from the gazetteer, not from the input:
  the project's "never add or remove accents" rule is about people's names.
- Matching is on `fold` keys, so case, accents, punctuation and spacing never matter:
  "BOGOTA", "bogotá, d.c." and "Bogotá D.C." are one key each of the same place.
- Aliases, abbreviations, short and former names ("bta", "medallo", "b/quilla", "cartagena
  de indias", "calera", "codazzi", "ospina perez"), a trailing or leading department ("cali
  valle", "Villavicencio - Meta", "Antioquia, Medellín"), a trailing "Colombia" and the words
  other systems add ("CHIGORODÓ Municipios", "Municipio de Chía") are understood. A
  department also picks one of several namesakes: "Barbosa, Santander" is the Barbosa of
  Santander.
- A name is shared when several places are named by it, or when it is also the short form
  another place is called by ("Santuario": El Santuario, Antioquia) or an alias of another
  place ("Manaure"). A shared name is never confident unless a department or a preferred
  place that dominates every other settles it ("Armenia" is Armenia, Quindío; "Cartagena"
  is not Cartagena del Chairá). The others render with their department, "Armenia
  (Antioquia)", "Santuario (Risaralda)", so that the output still says which place it is and
  maps to itself. Without a preferred place ("Barbosa", "Santuario") the value is ambiguous;
  `Gazetteer.is_ambiguous` says so.
- Typos are matched by a bounded fuzzy search (see `Gazetteer.resolve`); a department
  capital missing a syllable ("Bucamanga") is one slip.
- Anything else (an unknown place, a department on its own, the country, a foreign city,
  "N/A", emoji, a sentence) is only tidied: cleaned and capitalised like a name, with Spanish
  particles lower-case ("san juan de la costa" -> "San Juan de la Costa"), and not confident.

The gazetteer loads lazily, once, from the package data (see `docs/postprocessors/city.md`).
"""

from __future__ import annotations

from llm_normalize.postprocessors.base import Outcome, PostProcessor, assessed_by
from llm_normalize.postprocessors.divipola import Place
from llm_normalize.postprocessors.gazetteer import Gazetteer

__all__ = [
    "Gazetteer",
    "Place",
    "assess_city",
    "make_city_normalizer",
    "normalize_city",
    "resolve",
]


def resolve(value: str) -> Place | None:
    """Return the place a city value names in the default gazetteer, or None.

    Shorthand for `Gazetteer.default().resolve(value)`; typos within the fuzzy bounds count.

    Examples:
        >>> resolve("bogota dc").code
        '11001'
        >>> resolve("Caracas") is None
        True
    """
    return Gazetteer.default().resolve(value)


def assess_city(value: str) -> Outcome:
    """Normalize a Colombian city and say whether the gazetteer recognised it.

    Reasons, and whether they are confident:

    - "empty": nothing typed; the output is "" (confident).
    - "known": the canonical name up to case, accents, punctuation and spacing, maybe
      with its department ("MEDELLIN, ANTIOQUIA" -> "Medellín") (confident).
    - "alias": an alias, abbreviation or official long name ("bta" -> "Bogotá D.C.",
      "Cartagena de Indias" -> "Cartagena") (confident).
    - "fuzzy": a typo within the bounds of `Gazetteer.resolve` ("Barranqilla" ->
      "Barranquilla"). Confident only for the slips people make, with no other place
      within two edits: a letter of a double typed once or twice ("medelin",
      "sogamosso", six characters or more), or a dropped letter or two swapped
      neighbours (eight or more). "bogta", "Ibage" or "Cotta" map, but not confidently.
    - "ambiguous": a name several places are named or called by and no department says
      which ("barbosa" -> "Barbosa", "Santuario" -> "Santuario": also El Santuario), or a
      department's name that is also a town in it or elsewhere ("Caldas", "Boyacá"); the
      output is the shared name. A shared name with a preferred place that does not
      dominate the places that shorten to it resolves to that place but is not confident,
      reason "known" ("San Andres" -> "San Andrés", not San Andrés de Sotavento).
    - "department": a department on its own ("valle" -> "Valle del Cauca").
    - "country": the country ("COLOMBIA" -> "Colombia").
    - "conflict": a known city next to another department ("Cali, Antioquia"), tidied.
    - "unknown": anything else, tidied ("san juan de la costa" -> "San Juan de la Costa").
    """
    return Gazetteer.default().assess(value)


@assessed_by(assess_city)
def normalize_city(value: str) -> str:
    """Normalize a Colombian city to its canonical gazetteer name.

    - "bogota", "BOGOTA D.C", "Bogotá, D.C.", "santa fe de bogota", "bta" -> "Bogotá D.C."
    - "MEDELLIN", "medallo", "Medellín, Antioquia" -> "Medellín"; "BogotÃ¡" -> "Bogotá D.C."
    - "cali valle", "Santiago de Cali" -> "Cali"; "Barranqilla" -> "Barranquilla"
    - "Armenia" -> "Armenia" (Quindío); "Armenia, Antioquia" -> "Armenia (Antioquia)"
    - "san juan de la costa" (no such place) -> "San Juan de la Costa"

    See `assess_city` for what counts as confident.
    """
    return assess_city(value).value


def make_city_normalizer(gazetteer: Gazetteer) -> PostProcessor:
    """Build a city post-processor (with its assessor) on top of a custom gazetteer.

    Examples:
        >>> custom = Gazetteer.default().with_aliases({"la capital": "Bogotá D.C."})
        >>> normalize_my_city = make_city_normalizer(custom)
        >>> normalize_my_city("La Capital")
        'Bogotá D.C.'
    """

    @assessed_by(gazetteer.assess)
    def normalize_city_with_gazetteer(value: str) -> str:
        return gazetteer.assess(value).value

    normalize_city_with_gazetteer.__doc__ = "Normalize a Colombian city with a custom gazetteer."
    return normalize_city_with_gazetteer
