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
