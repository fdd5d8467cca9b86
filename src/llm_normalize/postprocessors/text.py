"""Shared text cleaning, matching keys and name capitalisation.

`clean_text` is the first step of every built-in post-processor: it repairs what
browsers, spreadsheets and copy-paste do to form input (HTML entities included), and
nothing else.
`fold` turns text into a matching key for gazetteers and vocabularies.
`capitalize_words` is the post-processor for people's names and surnames;
`is_name_placeholder` says which values stand for no name at all ("N/A", "sin dato").
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Final

from llm_normalize.postprocessors.base import Outcome, assessed_by
from llm_normalize.postprocessors.spanish import NAME_ARTICLES, NAME_PARTICLES, plain

__all__ = [
    "assess_name",
    "capitalize_words",
    "clean_text",
    "fold",
    "is_name_placeholder",
    "recase",
    "stable",
]


@functools.cache
def _ftfy() -> tuple[Callable[[str], str], Callable[[str], bool]]:
    """The repair of ftfy in this module's settings, and its mojibake detector, on first use.

    ftfy repairs mojibake ("BogotÃ¡" -> "Bogotá"), ligatures, full-width forms and curly
    quotes. Its HTML unescaping stays off: it would decode one layer per call ("&amp;amp;"
    never settles) and numeric references too; `_unescape_entities` does it instead.
    Imported here rather than at the top, and configured once: it costs tens of
    milliseconds at import, and most values (see `_settled`) never need it.
    """
    import ftfy
    from ftfy.badness import is_bad

    config = ftfy.TextFixerConfig(unescape_html=False, explain=False)
    fix_text = ftfy.fix_text

    def fix(text: str) -> str:
        return fix_text(text, config)

    return fix, is_bad


# A named HTML character reference with its semicolon: "&aacute;", "&ntilde;", "&amp;".
# Only names of letters: "&frac12;" and numeric references ("&#241;") would turn typed
# digits into something else, and entities without a semicolon ("&copy", "&not") are
# too often the start of ordinary words ("&notas").
_ENTITY: Final = re.compile(r"&([A-Za-z]+);")

# Characters removed outright: controls (Cc) other than whitespace, format characters (Cf: zero
# width spaces and joiners, BOM, soft hyphen, bidi marks) and lone surrogates (Cs), which cannot
# even be encoded as UTF-8 and would make a DynamoDB write fail.
_DROPPED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs"})
# Categories a mojibake repair may never introduce (private use, unassigned).
_NEVER_INTRODUCED: Final = frozenset({"Co", "Cn"})

# Cleaning is a chain of repairs, and one repair can expose work for another (removing a zero
# width space can join two halves of a mojibake sequence). Repeating until nothing changes makes
# the result a fixed point, which is what idempotence needs; real input settles in one or two.
_MAX_CLEAN_PASSES: Final = 8


def _decimals(text: str) -> list[int]:
    return [unicodedata.decimal(char) for char in text if char.isdecimal()]


def _suspect_repair(text: str, fixed: str) -> bool:
    """Whether ftfy decoded something that was not mojibake: keep what was typed then.

    A real repair never yields private-use or unassigned code points ("Óíº" read as the
    bytes of U+E4BC), and never changes the digits typed ("ß" and U+0080 read as the bytes of
    U+07C0, NKO DIGIT ZERO); full-width digits becoming ASCII keep their values.
    """
    if any(unicodedata.category(char) in _NEVER_INTRODUCED and char not in text for char in fixed):
        return True
    return _decimals(fixed) != _decimals(text)


@functools.cache
def _entities() -> tuple[Mapping[str, str], Mapping[str, str]]:
    """The named HTML5 references: by exact name, and by case-folded name (lower-case preferred).

    Loaded on first use: `html.entities` is a large table that most runs never need.
    """
    from html.entities import html5

    exact = {
        name[:-1]: text
        for name, text in html5.items()
        if name.endswith(";") and name[:-1].isalpha()
    }
    folded: dict[str, str] = {}
    for name in sorted(exact, key=lambda name: (not name.islower(), name)):
        folded.setdefault(name.casefold(), exact[name])
    return exact, folded


def _entity(match: re.Match[str]) -> str:
    name = match.group(1)
    exact, folded = _entities()
    text = exact.get(name)
    if text is not None:
        return text
    text = folded.get(name.casefold())
    if text is None:
        return match.group(0)
    # "BOGOT&AACUTE;": the value was upper-cased after it was escaped.
    upper = text.upper()
    return upper if name.isupper() and len(upper) == len(text) else text


def _unescape_entities(text: str) -> str:
    """Decode named HTML references, every layer of them: "Bogot&amp;aacute;" -> "Bogotá".

    A name is read in any case ("&NTILDE;" -> "Ñ"), so that re-casing a cleaned value can
    never make a new reference appear. Each decoding shortens the text, so the loop ends.
    """
    while "&" in text:
        decoded = _ENTITY.sub(_entity, text)
        if decoded == text:
            break
        text = decoded
    return text


# Printable ASCII, the accented letters of Spanish and the signs of "N°" and "Nº": characters
# that none of ftfy's fixers touches (ligatures, wide forms, quotes, controls and line breaks
# are all outside them), that are in NFC, and that no filter below removes.
_INERT: Final = re.compile("[\x20-\x7eáéíóúüñÁÉÍÓÚÜÑ°º]*")


def _settled(text: str) -> bool:
    """Whether cleaning has nothing to do on `text` but collapse its spaces.

    True for printable ASCII, which cannot hold mojibake (nearly every address, phone and
    e-mail), and for text of `_INERT` characters that ftfy's own detector does not read as
    mojibake: ftfy would return either unchanged, so it is not called.
    """
    if text.isascii():
        return text.isprintable()
    return _INERT.fullmatch(text) is not None and not _ftfy()[1](text)


def _clean_once(text: str) -> str:
    text = _unescape_entities(text)
    if _settled(text):
        return " ".join(text.split())
    return _repair(text)


def _repair(text: str) -> str:
    """Repair mojibake, drop controls and format characters, collapse spaces, compose."""
    # ftfy first: a soft hyphen (U+00AD, a format character) is half of the mojibake of "í".
    fixed = _ftfy()[0](text)
    if fixed != text and _suspect_repair(text, fixed):
        fixed = text
    kept = "".join(
        " " if char.isspace() else char
        for char in fixed
        if char.isspace() or unicodedata.category(char) not in _DROPPED_CATEGORIES
    )
    collapsed = " ".join(kept.split())
    return unicodedata.normalize("NFC", collapsed)


def clean_text(value: str | None) -> str:
    """Repair and tidy free text typed into a web form.

    The steps, repeated until the text no longer changes:

    1. named HTML references decoded, every layer ("Bogot&aacute;", "Nari&ntilde;o",
       "Crepes &amp;amp; Waffles"), in any case ("&NTILDE;" -> "Ñ"); numeric references
       ("&#241;") stay as typed, because their digits are digits typed;
    2. control characters, zero-width and other format characters, and lone surrogates removed;
    3. mojibake repaired with ftfy ("BogotÃ¡" -> "Bogotá"), along with ligatures,
       full-width letters and digits, and curly quotes;
    4. every run of whitespace (tabs, newlines, no-break spaces) collapsed to one space,
       and the ends stripped;
    5. Unicode NFC, so that "é" is one code point whatever the keyboard sent.

    Apart from the references, letters, digits and punctuation are never removed, and case
    and accents are kept as typed. `None` becomes the empty string.
    """
    if not value:
        return ""
    if "&" not in value and _settled(value):
        # Most values: no reference to decode and nothing ftfy could repair, so one pass of
        # whitespace collapsing is the fixed point the loop below would reach.
        return " ".join(value.split())
    text = value
    for _ in range(_MAX_CLEAN_PASSES):
        cleaned = _clean_once(text)
        if cleaned == text:
            break
        text = cleaned
    return text


def stable(rendered: str, cleaned: str) -> str:
    """Return `rendered` if cleaning leaves it alone, else fall back to `cleaned`.

    Post-processors render after cleaning, and rendering (recasing, mostly) can turn text
    into something ftfy reads as mojibake: "àµ" recased is "Àµ", which ftfy would "repair"
    into another letter on the next call. Such a result would be neither idempotent nor
    faithful, so the cleaned input is returned instead. With `cleaned = clean_text(x)` and a
    renderer that is a fixed point on its own output, `f(f(x)) == f(x)` then always holds.
    Real form data never takes the fallback; odd Unicode sometimes does.
    """
    return rendered if clean_text(rendered) == rendered else cleaned


_NON_ALNUM: Final = re.compile(r"[^0-9a-z]+")


def fold(value: str | None) -> str:
    """Return a matching key: cleaned, case-folded, accents and punctuation removed.

    `fold("  Bogotá, D.C. ")` is `"bogota d c"`. Keys are for lookups only, never for output.
    "ñ" folds to "n", so "Peñol" and "Penol" share a key.
    """
    return _NON_ALNUM.sub(" ", plain(clean_text(value))).strip()


def _set_case(char: str, upper: bool) -> str:
    # Change case only where it is a true one-to-one case pair: "ß".upper() is "SS" and
    # "ı".upper() is "I" (which folds to a different letter); those are left as typed.
    changed = char.upper() if upper else char.lower()
    if len(changed) == 1 and changed.casefold() == char.casefold():
        return changed
    return char


def recase(segment: str) -> str:
    """Upper-case the first cased character of `segment` and lower-case the rest."""
    out: list[str] = []
    seen_cased = False
    for char in segment:
        if not seen_cased and (char.isupper() or char.islower() or char.istitle()):
            out.append(_set_case(char, upper=True))
            seen_cased = True
        else:
            out.append(_set_case(char, upper=False))
    return "".join(out)


_WORD_PARTS: Final = re.compile(r"([-'])")

# A name this long, or with these characters, is probably not a name: let a model look at it.
_MAX_CONFIDENT_NAME_LENGTH: Final = 60
_MAX_CONFIDENT_NAME_WORDS: Final = 6
_NAME_PUNCTUATION: Final = frozenset(" -'.")

# Values that stand for no name at all, by `fold` key: "N/A", "n.a.", "N.N.", "S/D" (sin
# dato), "sin dato", "ninguno", a run of "x", and what software writes for a missing value.
_NAME_PLACEHOLDERS: Final = frozenset(
    {
        "na",
        "n a",
        "nn",
        "n n",
        "n d",
        "s d",
        "s n",
        "no aplica",
        "no tiene",
        "no registra",
        "no reporta",
        "no informa",
        "no sabe",
        "no disponible",
        "ninguno",
        "ninguna",
        "sin dato",
        "sin datos",
        "sin nombre",
        "sin nombres",
        "sin apellido",
        "sin apellidos",
        "sin informacion",
        "sin info",
        "sin registro",
        "desconocido",
        "desconocida",
        "null",
        "none",
        "nan",
        "undefined",
    }
)
_PLACEHOLDER_RUN: Final = re.compile(r"x(?: ?x)+")


def _capitalize_word(word: str) -> str:
    # "ANA-MARÍA" -> "Ana-María", "o'neill" -> "O'Neill": each part between separators.
    return "".join(part if part in {"-", "'"} else recase(part) for part in _WORD_PARTS.split(word))


def is_name_placeholder(value: str) -> bool:
    """Say whether a name value stands for no name at all.

    A placeholder is a value of only hyphens, periods and apostrophes ("-", "..."), or, up
    to case, spacing and punctuation, one of "N/A", "n.a.", "N.N.", "S/D", "N/D", "S/N",
    "no aplica", "no tiene", "no registra", "ninguno", "sin dato", "sin nombre",
    "sin apellidos", "desconocido", "null", "none", "nan", "undefined", or a run of
    "x" ("xx", "XXX", "x.x.x").

    Examples:
        >>> is_name_placeholder("N/A"), is_name_placeholder("sin dato"), is_name_placeholder("XXX")
        (True, True, True)
        >>> is_name_placeholder("Nadia"), is_name_placeholder("Ximena")
        (False, False)
    """
    return _is_placeholder(clean_text(value))


def _is_placeholder(cleaned: str) -> bool:
    """`is_name_placeholder` of a value already cleaned."""
    if not cleaned:
        return False
    if all(char in _NAME_PUNCTUATION for char in cleaned):
        return True
    key = _NON_ALNUM.sub(" ", plain(cleaned)).strip()
    return key in _NAME_PLACEHOLDERS or _PLACEHOLDER_RUN.fullmatch(key) is not None


def assess_name(value: str) -> Outcome:
    """Capitalise a person's name or surname and say whether it looks like a name.

    Confident when the cleaned value has only letters, spaces, hyphens, apostrophes and
    periods, at most six words and sixty characters. Anything else (digits, emoji, markup,
    an e-mail address, a sentence) is capitalised all the same but marked not confident.
    A placeholder (`is_name_placeholder`: "N/A", "sin dato", "xxx") is no name: it becomes
    the empty value, confidently, with the reason "placeholder".
    """
    cleaned = clean_text(value)
    if _is_placeholder(cleaned):
        return Outcome("", confident=True, reason="placeholder")
    rendered = _capitalize_name(cleaned)
    result = stable(rendered, cleaned)
    words = result.split(" ") if result else []
    if not result:
        return Outcome("", confident=True, reason="empty")
    if result != rendered:
        return Outcome(result, confident=False, reason="unstable")
    plausible = (
        all(char.isalpha() or char in _NAME_PUNCTUATION for char in result)
        and len(result) <= _MAX_CONFIDENT_NAME_LENGTH
        and len(words) <= _MAX_CONFIDENT_NAME_WORDS
    )
    return Outcome(result, confident=plausible, reason=None if plausible else "unusual")


def _capitalize_name(text: str) -> str:
    words = text.split(" ") if text else []
    out: list[str] = []
    previous = ""
    for index, word in enumerate(words):
        key = word.casefold()
        # Particles are lower-case inside a name (see `spanish.NAME_PARTICLES`), but
        # capitalised at the start ("De la Cruz"): the value may be a surname on its own.
        if index > 0 and (key in NAME_PARTICLES or (key in NAME_ARTICLES and previous == "de")):
            out.append(key)
        else:
            out.append(_capitalize_word(word))
        previous = key
    return " ".join(out)


@assessed_by(assess_name)
def capitalize_words(value: str) -> str:
    """Capitalise a person's names or surnames: "JUAN CARLOS" -> "Juan Carlos".

    - Each word gets an upper-case first letter and lower-case rest.
    - Hyphenated and apostrophe names are capitalised per part:
      "ANA-MARÍA" -> "Ana-María", "o'neill" -> "O'Neill".
    - The particles "de", "del" and "y", and "la", "las", "los" after "de", are lower-case
      except at the start: "MARIA DE LOS ANGELES" -> "Maria de los Angeles",
      "DE LA CRUZ" -> "De la Cruz".
    - Accents are kept exactly as typed, never added or removed.
    - Text is cleaned first (see `clean_text`).
    - A placeholder ("N/A", "sin dato", "xxx": see `is_name_placeholder`) becomes "".
    """
    return assess_name(value).value
