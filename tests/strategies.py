"""Hypothesis strategies shared by the post-processor property tests."""

from hypothesis import strategies as st

# Anything at all, surrogates included: post-processors must be total.
any_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=80)

# Text shaped like form input: Spanish letters, digits, the punctuation people type, and the
# debris that browsers and spreadsheets add (mojibake pieces, zero-width spaces, tabs).
_FORM_ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "áéíóúüñÁÉÍÓÚÜÑ0123456789 -.,#°º/'\t\u200bÃ©¡Â"
)
form_text = st.text(alphabet=_FORM_ALPHABET, max_size=60)


def _join(words: list[str]) -> str:
    return " ".join(words)


# Sequences of words that occur in addresses, in random order, with random separators.
address_words = st.lists(
    st.sampled_from(
        [
            "calle",
            "CL",
            "cll",
            "cra",
            "KR",
            "carrera",
            "av",
            "avenida",
            "ac",
            "ak",
            "dg",
            "diagonal",
            "tv",
            "transversal",
            "circular",
            "autopista",
            "no",
            "No.",
            "N°",
            "Nº",
            "nro",
            "#",
            "-",
            "sur",
            "este",
            "norte",
            "oeste",
            "bis",
            "a",
            "b",
            "c",
            "apto",
            "apt",
            "int",
            "interior",
            "torre",
            "t",
            "bloque",
            "casa",
            "piso",
            "oficina",
            "of",
            "local",
            "manzana",
            "mz",
            "etapa",
            "conjunto",
            "edificio",
            "km",
            "via",
            "vereda",
            "finca",
            "1",
            "15",
            "100",
            "25",
            "45",
            "45a",
            "23a-78",
            "100-25",
            "7",
            "0",
        ]
    ),
    max_size=12,
).map(_join)

text_or_form = st.one_of(any_text, form_text)


# Well-formed Colombian urban addresses typed in messy ways, paired with the canonical form the
# address post-processor must give: (messy, canonical). Each part is spelt at random (case,
# abbreviation, dots, glued or spaced letters, plate markers and separators).
# Keyed by the seed's abbreviated style, the default output.
_ADDRESS_STREET_SPELLINGS = {
    "Cl.": ["calle", "CALLE", "Cl", "CL.", "cll", "Cll", "CLLE", "c"],
    "Cra.": ["carrera", "CARRERA", "Cra", "cra.", "KR", "kr", "Cr", "K", "kra"],
    "Av.": ["av", "AV.", "Avenida", "avda"],
    "Ac.": ["AC", "av calle", "Avenida Calle", "AV. CL"],
    "Ak.": ["AK", "av cra", "Av. Carrera", "avenida carrera"],
    "Dg.": ["dg", "DIAGONAL", "Diag.", "DG"],
    "Tr.": ["tv", "TRANSVERSAL", "Trans.", "TV", "tr"],
    "Cir.": ["cir", "CIRCULAR", "Cq"],
    "Autop.": ["autopista", "AUTOP"],
}
_ADDRESS_COMPLEMENTS = [
    ("apto", "Apto."),
    ("APTO", "Apto."),
    ("Apartamento", "Apto."),
    ("ap", "Apto."),
    ("Apto.", "Apto."),
    ("int", "Int."),
    ("INTERIOR", "Int."),
    ("torre", "Torre"),
    ("T", "Torre"),
    ("bloque", "Bloque"),
    ("BL", "Bloque"),
    ("casa", "Casa"),
    ("CS", "Casa"),
    ("piso", "Piso"),
    ("of", "Of."),
    ("OFICINA", "Of."),
    ("local", "Local"),
    ("LC", "Local"),
    ("mz", "Mz."),
    ("MANZANA", "Mz."),
    ("etapa", "Etapa"),
]
_LETTERS = "ABCDEFGH"


def _case(draw: st.DrawFn, word: str) -> str:
    return draw(st.sampled_from([word, word.upper(), word.lower(), word.capitalize()]))


def _suffixed(draw: st.DrawFn, number: str, allow_bis: bool) -> tuple[str, str]:
    """A number with an optional letter, Bis and second letter, messy and canonical."""
    messy, canonical = number, number
    letter = draw(st.none() | st.sampled_from(_LETTERS))
    if letter is not None:
        messy += draw(st.sampled_from(["", " "])) + _case(draw, letter)
        canonical += letter
    if allow_bis and draw(st.booleans()):
        glued = letter is not None and messy[-1] != " " and draw(st.booleans())
        messy += ("" if glued else " ") + _case(draw, "bis")
        canonical += " Bis"
        second = draw(st.none() | st.sampled_from(_LETTERS))
        if second is not None:
            messy += " " + _case(draw, second)
            canonical += " " + second
    return messy, canonical


@st.composite
def _messy_address(draw: st.DrawFn) -> tuple[str, str]:
    street_type = draw(st.sampled_from(sorted(_ADDRESS_STREET_SPELLINGS)))
    spelling = draw(st.sampled_from(_ADDRESS_STREET_SPELLINGS[street_type]))
    number = str(draw(st.integers(1, 199)))
    messy_street, canonical_street = _suffixed(draw, number, allow_bis=True)
    messy = f"{spelling} {messy_street}"
    canonical = f"{street_type} {canonical_street}"
    quadrant = draw(st.none() | st.sampled_from(["Sur", "Este", "Norte", "Oeste"]))
    if quadrant is not None:
        messy += " " + _case(draw, quadrant)
        canonical += " " + quadrant
    marker = draw(
        st.sampled_from(["", " #", " # ", " No", " No.", " N°", " Nº", " nro", " num", " NO."])
    )
    cross, canonical_cross = _suffixed(draw, str(draw(st.integers(1, 199))), allow_bis=False)
    plate = draw(st.sampled_from(["5", "05", "25", "100", "8", "99"]))
    separator = draw(st.sampled_from(["-", " - ", " ", "–", " -", "- "]))
    messy += f"{marker} {cross}{separator}{plate}"
    canonical += f" # {canonical_cross} - {plate}"
    for _ in range(draw(st.integers(0, 3))):
        keyword, canonical_keyword = draw(st.sampled_from(_ADDRESS_COMPLEMENTS))
        value = draw(st.sampled_from(["1", "2", "12", "301", "1203", "502B"]))
        messy += draw(st.sampled_from([" ", ", ", " - ", ","])) + f"{keyword} {value}"
        canonical += f" {canonical_keyword} {value}"
    messy = draw(st.sampled_from([messy, messy + " ", messy + ",", "  " + messy, messy + "."]))
    return messy, canonical


messy_addresses = _messy_address()


# Words that the vocabulary post-processors (education, organizations, occupations) act on:
# keywords, abbreviations, legal suffixes, particles, acronyms and noise, each in a random case
# and with random punctuation, in random order.
def _word_salad(words: list[str]) -> st.SearchStrategy[str]:
    # Every variant is listed up front, so that drawing a word is a single cheap choice.
    variants = sorted(
        {
            cased + ending
            for word in words
            for cased in (word, word.upper(), word.lower(), word.capitalize(), word.title())
            for ending in ("", ".", ",", "-")
        }
    )
    return st.builds(
        lambda picked, separator: separator.join(picked),
        st.lists(st.sampled_from(variants), max_size=8),
        st.sampled_from([" ", " ", "  ", "\t"]),
    )


def _words(text: str) -> list[str]:
    return text.split()


_COMMON_NOISE = _words(
    "de del la los el y e en a u u. x ß İ 11 80 3M d1 ABC iBM Ñandú ǅemal Ǆ ﬁ Ã© 😀 - & ' /"
)
education_words = _word_salad(
    [
        *_words("bachiller bachillerato bachiler primaria secundaria basica tecnico técnica tec"),
        *_words("tecnologo tecnología profesional profecional universitario pregrado esp"),
        *_words("especialización posgrado maestría mba magister phd doctorado ninguno sin"),
        *_words("estudios incompleto estudiante cursando semestre grado once quinto noveno"),
        *_words("5 9 quiero profesinal ingeniero licenciado normalista curso ingles"),
        *_COMMON_NOISE,
    ]
)
institution_words = _word_salad(
    [
        *_words("sena s.e.n.a unal eafit epm bbva bancolombia banco bogotá universidad nacional"),
        *_words("colombia grupo exito éxito almacenes empresas publicas medellin transportes"),
        *_words("rodriguez sas s.a.s s a sa s.a. ltda e.s.p esp en c cia cía bic eu inc corp"),
        *_words("ninguna n/a na no aplica independiente trabajo"),
        *_COMMON_NOISE,
    ]
)
occupation_words = _word_salad(
    [
        *_words("ing ing. lic adm admin admon tec téc aux asist cont prof coord dir ger sist gral"),
        *_words("ind enf dr ingeniero ingeniera sistemas civil industrial tecnico técnico"),
        *_words("auxiliar administrativo administrativa analista datos contador publico"),
        *_words("estudiante universitario docente ama casa ti qa sst jefe ventas licenciado"),
        *_words("matematicas coordinadora Ing.Sistemas Aux.Adm."),
        *_COMMON_NOISE,
    ]
)


# The shortest spellings of address keywords, numbers and separators, glued or spaced at random:
# the inputs whose expansion ("t 1" -> "Torre 1", "ak" -> "Av. Cra.") grows the most.
_ABBREVIATIONS = (
    "t p c k ak ac ap bl br ed cs lc mz km vda int of n no nº # bis dbis a b ii x xy "
    "1 05 12 2.5 via de al"
)
address_abbreviations = st.lists(
    st.tuples(
        st.sampled_from(_ABBREVIATIONS.split()),
        st.sampled_from(["", " ", " ", ".", ",", "-", ":", " - ", ", "]),
    ),
    max_size=30,
).map(lambda pairs: "".join(word + separator for word, separator in pairs))
