"""Colombian street addresses in one readable convention: ``"CRA 15 NO 100 25"`` -> ``"Cra. 15 # 100 - 25"``.

The grammar reads every address into one canonical form, which extends the seed's example
(``normalizedData.direccion``):

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

The canonical form is then written in an address style (`address_styles`): by default the
seed's abbreviated one, ``Cl. 45A Bis Sur # 12 - 30`` (``Cl.``, ``Cra.``, ``Av.``, ``Ac.``,
``Ak.``, ``Dg.``, ``Tr.``), else ``"full"`` (``Calle 45A Bis Sur # 12 - 30``), ``"code"``
(``CL 45A BIS SUR 12 30``) or the deprecated ``"legacy"`` (the canonical form itself, the
output of earlier versions). `make_address_normalizer` builds the post-processor of a style.

The work is ``render(parse(clean_text(value)))``, and the grammar is built so that parsing a
rendering gives the same rendering: the post-processor is idempotent. A keyword is expanded
only where the expansion at most doubles the text it replaces, so the output is never longer
than ``2 * len(clean_text(value)) + 16``.

Parsing is a hand-written tokenizer and grammar. geographicol, a Colombian address parser on
PyPI, was evaluated and not used: it drops leading zeros (``# 61 - 01`` -> ``61-1``) and any
token it does not understand, which this library's guard would reject.
"""

from __future__ import annotations

import functools
from typing import Final

from llm_normalize.postprocessors._address_parser import Parse
from llm_normalize.postprocessors.address_styles import (
    ADDRESS_STYLES,
    DEFAULT_ADDRESS_STYLE,
    AddressStyle,
    check_address_style,
    read_address,
    restyle,
    warn_if_deprecated,
)
from llm_normalize.postprocessors.base import Outcome, PostProcessor, assessed_by
from llm_normalize.postprocessors.text import clean_text

__all__ = [
    "ADDRESS_STYLES",
    "DEFAULT_ADDRESS_STYLE",
    "AddressStyle",
    "assess_address",
    "make_address_normalizer",
    "normalize_address",
]

# Readings of an unsure value, at most, before its rendering is taken as it is.
_MAX_PASSES: Final = 3


def assess_address(value: str, style: AddressStyle = DEFAULT_ADDRESS_STYLE) -> Outcome:
    """Normalize a Colombian address and say whether the whole of it was understood.

    Confident (reason ``"parsed"``) when the value is a street type, a street number, a
    plate with both numbers (at most three digits each) or the corner of two streets
    (``Calle 45 con Cra. 13``, ``Cra. 12 Calle 31 - 54``), and at most six known
    complements, with only known places (a town, a department, a building or shopping centre
    named by its keyword) before or after it; or, without a street, when it names a place
    and a unit in it (``Urbanización Villa Real Mz. B Casa 6``).
    Otherwise the value is tidied all the same and reported with a reason: ``"no_street"``
    (no street type), ``"partial"`` (no number or an incomplete plate), ``"named_street"``,
    ``"fuzzy"`` (a misspelt street type), ``"ambiguous"`` (a lone ``N`` between the street
    number and the plate: Norte or "número", kept as typed), ``"leftover"`` (words or
    symbols the grammar does not know), ``"rural"`` (kilometre, vereda, finca...),
    ``"long"`` (more complements than an address has) or ``"unstable"`` (the cleaned text
    is returned unrecased, see the docs). Empty input gives ``""`` with reason ``"empty"``.

    Args:
        value: The address as typed.
        style: How to write it (see `AddressStyle`); the confidence does not depend on it.

    Raises:
        ConfigurationError: `style` is not an address style.

    Examples:
        >>> assess_address("CRA 15 NO 100 25")
        Outcome(value='Cra. 15 # 100 - 25', confident=True, reason='parsed')
        >>> assess_address("cl 45a bis sur # 12-30", style="code")
        Outcome(value='CL 45A BIS SUR 12 30', confident=True, reason='parsed')
        >>> assess_address("km 5 via cali-jamundi")
        Outcome(value='Km 5 Via Cali-Jamundi', confident=False, reason='rural')
        >>> assess_address("CL 7 N 3 30")
        Outcome(value='Cl. 7 N 3 - 30', confident=False, reason='ambiguous')
    """
    style = check_address_style(style)
    text = clean_text(value)
    if not text:
        return Outcome("", confident=True, reason="empty")
    parsed = read_address(text)
    out = parsed.render()
    reading: Parse | None = parsed  # the parse that `out` is the rendering of
    if parsed.reason != "parsed":
        settled = _settle(parsed, out)
        if settled is None:
            # Recasing made the text look like mojibake to ftfy ("í°" recased is "Í°", which
            # ftfy reads as "Ͱ"): keep the cleaned value as typed rather than change a letter.
            return Outcome(text, confident=False, reason="unstable")
        parsed, out, reading = settled
    elif clean_text(out) != out:
        return Outcome(text, confident=False, reason="unstable")
    outcome = Outcome(out, confident=parsed.reason == "parsed", reason=parsed.reason)
    return restyle(outcome, style, reading=reading)


def _settle(parsed: Parse, out: str) -> tuple[Parse, str, Parse | None] | None:
    """Read an unsure rendering back until it reads as itself.

    A confident reading (a street, a whole plate, known complements) renders as a fixed
    point of the grammar, which the property tests check, so it is parsed once. An unsure
    one may hold words that read otherwise once tidied ("Av. Cra. P # 12.P" is "Av. Cra.
    Piso 12.P"), so it is read again, at most `_MAX_PASSES` times.

    Returns:
        The reading, its rendering, and the parse of that rendering when it reads as itself
        (else `None`); `None` instead of all three when cleaning would change a rendering.
    """
    for _ in range(_MAX_PASSES):
        if clean_text(out) != out:
            return None
        again = read_address(out)
        if again.render() == out:
            return parsed, out, again
        parsed, out = again, again.render()
    return parsed, out, None


def normalize_address(value: str, style: AddressStyle = DEFAULT_ADDRESS_STYLE) -> str:
    """Normalize a Colombian address to the seed's convention, or to another `style`.

    Examples:
        - ``"CRA 15 NO 100 25"`` -> ``"Cra. 15 # 100 - 25"``
        - ``"cl 1 # 138 22 torre 2 apto 301"`` -> ``"Cl. 1 # 138 - 22 Torre 2 Apto. 301"``
        - ``"Avenida Calle 2 SUR Nro 26B-39."`` -> ``"Ac. 2 Sur # 26B - 39"``
        - ``"CL 7 DBIS # 125 27"`` -> ``"Cl. 7D Bis # 125 - 27"``
        - ``"Carrera 12 #136-23 - Conjunto La Candelaria"``
          -> ``"Cra. 12 # 136 - 23 Conjunto La Candelaria"``
        - ``"VEREDA EL SALITRE FINCA LA ESPERANZA"`` -> ``"Vereda El Salitre Finca La Esperanza"``
        - ``"Kilómetro 3 vía al mar"`` -> ``"Km 3 Vía al Mar"``
        - ``"calle 45 # 12-30 apto 301"`` in the ``"full"`` style
          -> ``"Calle 45 # 12 - 30 Apartamento 301"``, in the ``"code"`` style
          -> ``"CL 45 12 30 APTO 301"``

    Unknown words are kept, with their case tidied; digits are never dropped or reordered.
    See `assess_address` for when the result is confident.
    """
    return assess_address(value, style).value


# Linked by a call rather than as a decorator, so that the function keeps its `style`
# parameter in its type.
assessed_by(assess_address)(normalize_address)


def make_address_normalizer(style: AddressStyle = DEFAULT_ADDRESS_STYLE) -> PostProcessor:
    """Return the address post-processor of `style`, with its `assess_address` twin linked.

    The default style gives `normalize_address` itself. The same function is returned for
    the same style, so registries and caches see one post-processor per style.

    Raises:
        ConfigurationError: `style` is not an address style.

    Examples:
        >>> make_address_normalizer("full")("CRA 15 NO 100 25")
        'Carrera 15 # 100 - 25'
    """
    style = check_address_style(style)
    warn_if_deprecated(style)
    return _styled_normalizer(style)


@functools.cache
def _styled_normalizer(style: AddressStyle) -> PostProcessor:
    """`make_address_normalizer` without the check or the warning, for the profiles."""
    if style == DEFAULT_ADDRESS_STYLE:
        return normalize_address
    assessor = functools.partial(assess_address, style=style)

    @assessed_by(assessor)
    def normalize(value: str) -> str:
        return assessor(value).value

    normalize.__name__ = normalize.__qualname__ = f"normalize_address_{style}"
    normalize.__doc__ = f"Normalize a Colombian address in the {style!r} address style."
    return normalize
