"""Colombian street addresses in one readable convention: ``"CRA 15 NO 100 25"`` -> ``"Cra. 15 # 100 - 25"``.

The convention extends the seed's example (``normalizedData.direccion``):

- the street type first, in one spelling: ``Calle``, ``Cra.``, ``Av.``, ``Av. Calle``,
  ``Av. Cra.``, ``Diagonal``, ``Transversal``, ``Circular``, ``Circunvalar``, ``Autopista``,
  ``Vía``;
- the street number with its letter glued (``45A``), then ``Bis`` and a second letter, then a
  quadrant (``Sur``, ``Este``, ``Norte``, ``Oeste``), each where the user put it:
  ``Calle 45A Bis B Sur``;
- the plate as ``# 100 - 25`` (cross street, its letter and ``Bis``, a dash, the house number),
  whatever marker was typed (``No``, ``No.``, ``N°``, ``Nº``, ``Nro``, ``Num``, ``#`` or none);
- complements after one space each, with canonical keywords (``Torre 5 Apto. 1203``,
  ``Int. 2``, ``Of. 804``, ``Mz. F Casa 3``, ``Barrio La Candelaria``); the separators typed
  between them (``-``, ``,``) become that single space;
- rural forms keep their words: ``Km 5 Vía Cali-Jamundí``, ``Vereda El Salitre Finca La
  Esperanza``, with keywords canonical and names title-cased, Spanish particles lower-case.

Nothing is ever dropped: anything the grammar does not know is kept where it was, with its
case tidied and its spacing as typed. Digits are never dropped, reordered, merged or split,
and letters are only re-cased, except that keywords take their canonical spelling
(``Apartamento`` -> ``Apto.``) and number markers (``No``, ``Nro``, ``N``) become ``#``.

The work is ``render(parse(clean_text(value)))``, and the grammar is built so that parsing a
rendering gives the same rendering: the post-processor is idempotent. A keyword is expanded
only where the expansion at most doubles the text it replaces, so the output is never longer
than ``2 * len(clean_text(value)) + 16``.

Parsing is a hand-written tokenizer and grammar. geographicol, a Colombian address parser on
PyPI, was evaluated and not used: it drops leading zeros (``# 61 - 01`` -> ``61-1``) and any
token it does not understand, which this library's guard would reject.
"""

from __future__ import annotations

from typing import Final

from llm_normalize.postprocessors._address_parser import parse
from llm_normalize.postprocessors.base import Outcome, assessed_by
from llm_normalize.postprocessors.text import clean_text

__all__ = ["assess_address", "normalize_address"]

# The grammar is designed so that parsing a rendering gives the same rendering; the check
# after rendering is a safety net that the property tests never see used.
_MAX_PASSES: Final = 3


def assess_address(value: str) -> Outcome:
    """Normalize a Colombian address and say whether the whole of it was understood.

    Confident (reason ``"parsed"``) when the value is a street type, a street number, a
    plate with both numbers (at most three digits each) and at most six known complements.
    Otherwise the value is tidied all the same and reported with a reason: ``"no_street"``
    (no street type at the start), ``"partial"`` (no number or an incomplete plate),
    ``"named_street"``, ``"fuzzy"`` (a misspelt street type), ``"leftover"`` (words or
    symbols the grammar does not know), ``"rural"`` (kilometre, vereda, finca...),
    ``"long"`` (more complements than an address has) or ``"unstable"`` (the cleaned text
    is returned unrecased, see the docs). Empty input gives ``""`` with reason ``"empty"``.

    Examples:
        >>> assess_address("CRA 15 NO 100 25")
        Outcome(value='Cra. 15 # 100 - 25', confident=True, reason='parsed')
        >>> assess_address("km 5 via cali-jamundi")
        Outcome(value='Km 5 Vía Cali-Jamundi', confident=False, reason='rural')
    """
    text = clean_text(value)
    if not text:
        return Outcome("", confident=True, reason="empty")
    parsed = parse(text)
    out = parsed.render()
    for _ in range(_MAX_PASSES):
        if clean_text(out) != out:
            # Recasing made the text look like mojibake to ftfy ("í°" recased is "Í°", which
            # ftfy reads as "Ͱ"): keep the cleaned value as typed rather than change a letter.
            return Outcome(text, confident=False, reason="unstable")
        again = parse(out)
        if again.render() == out:
            break
        parsed, out = again, again.render()
    confident = parsed.reason == "parsed"
    return Outcome(out, confident=confident, reason=parsed.reason)


@assessed_by(assess_address)
def normalize_address(value: str) -> str:
    """Normalize a Colombian address to the seed's convention.

    Examples:
        - ``"CRA 15 NO 100 25"`` -> ``"Cra. 15 # 100 - 25"``
        - ``"cl 1 # 138 22 torre 2 apto 301"`` -> ``"Calle 1 # 138 - 22 Torre 2 Apto. 301"``
        - ``"Avenida Calle 2 SUR Nro 26B-39."`` -> ``"Av. Calle 2 Sur # 26B - 39"``
        - ``"CL 7 DBIS # 125 27"`` -> ``"Calle 7D Bis # 125 - 27"``
        - ``"Carrera 12 #136-23 - Conjunto La Candelaria"``
          -> ``"Cra. 12 # 136 - 23 Conjunto La Candelaria"``
        - ``"VEREDA EL SALITRE FINCA LA ESPERANZA"`` -> ``"Vereda El Salitre Finca La Esperanza"``
        - ``"Kilómetro 3 vía al mar"`` -> ``"Km 3 Vía al Mar"``

    Unknown words are kept, with their case tidied; digits are never dropped or reordered.
    See `assess_address` for when the result is confident.
    """
    return assess_address(value).value
