import json
import re
import string
import unicodedata
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from guard_support import DIRECCION, GUARD
from llm_normalize.postprocessors._address_lexicon import (
    COMPLEMENTS,
    NUMBER_MARKERS,
    QUADRANTS,
    STREET_TYPES,
    fuzzy_street_type,
    tokenize,
)
from llm_normalize.postprocessors._address_parser import parse
from llm_normalize.postprocessors.address import assess_address, normalize_address
from llm_normalize.postprocessors.base import Outcome, assess
from llm_normalize.postprocessors.text import clean_text
from strategies import (
    address_abbreviations,
    address_words,
    any_text,
    form_text,
    messy_addresses,
    text_or_form,
)

LEADS = Path(__file__).resolve().parents[2] / "examples" / "leads.jsonl"

_DIGIT_RUN = re.compile(r"\d+")
_LETTER_RUN = re.compile(r"[^\W\d_]+")
# Words the post-processor may replace by a canonical spelling (keywords, number markers).
_VOCABULARY = set(STREET_TYPES) | set(COMPLEMENTS) | set(QUADRANTS) | NUMBER_MARKERS

_LETTER = r"[^\W\d_]"
_SUFFIX = rf"{_LETTER}?( Bis( {_LETTER})?)?( (Sur|Este|Norte|Oeste|Oriente|Occidente))?"
_STREET = (
    r"(Cl\.|Cra\.|Av\.|Ac\.|Ak\.|Dg\.|Tr\.|Cir\.|Circunv\.|Autop\.|Vía|Via)"
    rf" \d{{1,3}}({_LETTER}{{1,2}}N?)?( Bis( {_LETTER})?)?( N|( (Sur|Este|Norte|Oeste|Oriente|Occidente)))?"
)
# A confident address has a street, its number and a whole plate, or the corner of two
# streets ("Cl. 45 con Cra. 13", "Cra. 12 Cl. 31 - 54"), after known places if any...
_CONFIDENT_HEAD = re.compile(
    rf"{_STREET}( (N )?# \d{{1,3}}{_SUFFIX}( N)? - \d{{1,3}}| con {_STREET}| {_STREET} - \d{{1,3}})"
)
# ... or no street, but a named place and a unit in it ("Barrio La Paz Mz. 4 Casa 2").
_PLACE = r"(Barrio|Conjunto|Urbanizaci[oó]n|Edificio|Ciudadela|Condominio|C\.C\.|Centro Comercial|Unidad Residencial)"
_UNIT = r"(Mz\.|Casa|Lote|Torre|Apto\.|Bloque|Int\.|Local|Of\.|Piso|Consultorio|Bodega)"
_LOCATED = re.compile(rf"(?=.*\b{_PLACE} )(?=.*\b{_UNIT} )")


def digit_runs(text: str) -> list[str]:
    return _DIGIT_RUN.findall(text)


def key(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def assert_letters_kept(raw: str, out: str) -> None:
    """Every letter run typed, other than a keyword, is in the output, in order, modulo case."""
    typed = [
        run
        for run in (key(r) for r in _LETTER_RUN.findall(clean_text(raw)))
        if run not in _VOCABULARY and fuzzy_street_type(run) is None
    ]
    rendered = "".join(key(run) for run in _LETTER_RUN.findall(out))
    position = 0
    for run in typed:
        found = rendered.find(run, position)
        assert found >= 0, (raw, out, run)
        position = found + len(run)


def sample_addresses() -> list[str]:
    with LEADS.open(encoding="utf-8") as lines:
        values = {json.loads(line).get("direccion") for line in lines if line.strip()}
    return sorted(value for value in values if isinstance(value, str))


class TestUrbanAddresses:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            # The seed's own example, and every way people type its plate.
            ("CRA 15 NO 100 25", "Cra. 15 # 100 - 25"),
            ("CRA 15 100 25", "Cra. 15 # 100 - 25"),
            ("Cra 15 # 100-25", "Cra. 15 # 100 - 25"),
            ("cra. 15 n° 100 - 25", "Cra. 15 # 100 - 25"),
            ("CARRERA 15 Nº 100-25", "Cra. 15 # 100 - 25"),
            ("Kra 15 No. 100 25", "Cra. 15 # 100 - 25"),
            ("kr15#100-25", "Cra. 15 # 100 - 25"),
            ("carrera    15\tno   100 -25", "Cra. 15 # 100 - 25"),
            ("Carrera 7 #162–72", "Cra. 7 # 162 - 72"),
            ("CR 30 N. 45 - 12", "Cra. 30 # 45 - 12"),
            ("carrera 61a 149 57", "Cra. 61A # 149 - 57"),
            # Carrera spellings and typos.
            ("K 29A #111-73", "Cra. 29A # 111 - 73"),
            ("Cr 1 No. 103-82", "Cra. 1 # 103 - 82"),
            ("crr 8 # 12-30", "Cra. 8 # 12 - 30"),
            ("carrea 8 # 12-30", "Cra. 8 # 12 - 30"),
            # Calle spellings, letters glued, Bis, quadrants in place.
            ("CALLE 157 SUR NO 48-35", "Cl. 157 Sur # 48 - 35"),
            ("cll 45 a # 12 - 30", "Cl. 45A # 12 - 30"),
            ("Clle 23a # 5-10", "Cl. 23A # 5 - 10"),
            ("Cl. 26 nro 13-19", "Cl. 26 # 13 - 19"),
            ("calle 45A bis # 12-30", "Cl. 45A Bis # 12 - 30"),
            ("Calle 61 bis A #14-14", "Cl. 61 Bis A # 14 - 14"),
            ("CLL 11BIS #179 - 31", "Cl. 11 Bis # 179 - 31"),
            ("CL 7 DBIS # 125 27", "Cl. 7D Bis # 125 - 27"),
            ("calle 38 a bis sur # 3A-18 este", "Cl. 38A Bis Sur # 3A - 18 Este"),
            ("calle 163 b sur 21 16", "Cl. 163B Sur # 21 - 16"),
            ("Cll 15 Este # 62 3", "Cl. 15 Este # 62 - 3"),
            ("Cra 8 # 12B-35 Sur", "Cra. 8 # 12B - 35 Sur"),
            ("cra. 43a # 1sur-50", "Cra. 43A # 1 Sur - 50"),
            ("C 45 # 12-30", "Cl. 45 # 12 - 30"),
            # Avenues.
            ("Av. Cra 68 #22 - 47", "Ak. 68 # 22 - 47"),
            ("AVENIDA CARRERA 9 55C-93", "Ak. 9 # 55C - 93"),
            ("ak 23E #92 - 79", "Ak. 23E # 92 - 79"),
            ("AC 6 Norte # 48 96", "Ac. 6 Norte # 48 - 96"),
            ("Avenida Calle 2 SUR Nro 26B-39.", "Ac. 2 Sur # 26B - 39"),
            ("av calle 12 no 158-48", "Ac. 12 # 158 - 48"),
            ("AV. CRA 6H 172-68", "Ak. 6H # 172 - 68"),
            ("Avda 19 # 100-20", "Av. 19 # 100 - 20"),
            ("AVENIDA 9 #159 -90,", "Av. 9 # 159 - 90"),
            # The other street types.
            ("DIAGONAL 59 106 - 52", "Dg. 59 # 106 - 52"),
            ("diag 69 no 150-57", "Dg. 69 # 150 - 57"),
            ("Dg 8 bis A # 122C 17", "Dg. 8 Bis A # 122C - 17"),
            ("transversal 3f no 41-87", "Tr. 3F # 41 - 87"),
            ("trans 81 No 173 37", "Tr. 81 # 173 - 37"),
            ("Tr 109 #45-2", "Tr. 109 # 45 - 2"),
            ("TV 12 C BIS A NO 116C-6", "Tr. 12C Bis A # 116C - 6"),
            ("Circular 1 # 47B - 38", "Cir. 1 # 47B - 38"),
            ("CQ 14 SUR Nro 140 43", "Cir. 14 Sur # 140 - 43"),
            ("Autopista 45 # 20-10", "Autop. 45 # 20 - 10"),
            ("Vía 40 # 73-290", "Vía 40 # 73 - 290"),
            # Leading zeros and trailing punctuation.
            ("CALLE 17 # 61 - 01", "Cl. 17 # 61 - 01"),
            ("CALLE 2 # 107 99,", "Cl. 2 # 107 - 99"),
            ("calle 10 no 76b - 71.", "Cl. 10 # 76B - 71"),
            # Mojibake and invisible debris.
            ("CALLE\u200b 45 # 12-30", "Cl. 45 # 12 - 30"),
            ("Cra\u00a015\u00a0#\u00a0100-25", "Cra. 15 # 100 - 25"),
        ],
    )
    def test_examples(self, raw: str, expected: str) -> None:
        """Street type, number, letters, Bis, quadrant and plate take the seed's convention."""
        outcome = assess_address(raw)
        assert outcome == Outcome(expected, confident=True, reason="parsed")

    @pytest.mark.parametrize(
        "canonical",
        [
            "Cra. 15 # 100 - 25",
            "Cl. 45A Bis # 12 - 30",
            "Cl. 157 Sur # 48 - 35",
            "Ac. 15 Este # 91 - 15 Apto. 804",
            "Ak. 68 # 22 - 47",
            "Tr. 12C Bis A # 116C - 6 Of. 804",
            "Cl. 1 # 138 - 22 Torre 2 Apto. 301",
            "Cra. 12 # 136 - 23 Conjunto La Candelaria",
        ],
    )
    def test_canonical_is_a_fixed_point(self, canonical: str) -> None:
        """An address already in the convention comes back unchanged and confident."""
        assert assess_address(canonical) == Outcome(canonical, confident=True, reason="parsed")


class TestComplements:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("CALLE 143 98 60 - TORRE 5 APTO 1203", "Cl. 143 # 98 - 60 Torre 5 Apto. 1203"),
            ("cl 1 # 138 22 torre 2 apto 301", "Cl. 1 # 138 - 22 Torre 2 Apto. 301"),
            ("CRA 71 # 54-22 INT 11", "Cra. 71 # 54 - 22 Int. 11"),
            ("Carrera 3 E # 97-79, Local 36", "Cra. 3E # 97 - 79 Local 36"),
            ("CALLE 34HBIS #119-61 APARTAMENTO 201", "Cl. 34H Bis # 119 - 61 Apto. 201"),
            ("Calle 45 # 12-30 T 2 Ap 501", "Cl. 45 # 12 - 30 Torre 2 Apto. 501"),
            ("Cra 7 Bis # 45-12 Torre B Apto 501B", "Cra. 7 Bis # 45 - 12 Torre B Apto. 501B"),
            ("CRA 7 # 45-12 BLQ 4 APTO 302", "Cra. 7 # 45 - 12 Bloque 4 Apto. 302"),
            ("calle 5 # 10-20 mz 3 cs 14", "Cl. 5 # 10 - 20 Mz. 3 Casa 14"),
            ("Cra 8 # 12-30 piso 2 oficina 201", "Cra. 8 # 12 - 30 Piso 2 Of. 201"),
            ("CALLE 100 # 19-61 OFC 802", "Cl. 100 # 19 - 61 Of. 802"),
            ("Calle 80 # 100-50 Lc 5", "Cl. 80 # 100 - 50 Local 5"),
            ("Calle 10 # 5-51 Local 1-12", "Cl. 10 # 5 - 51 Local 1-12"),
            ("Calle 1 # 1-1 Etapa II", "Cl. 1 # 1 - 1 Etapa II"),
            ("Calle 9 # 6-05 Bodega 3", "Cl. 9 # 6 - 05 Bodega 3"),
            ("Carrera 10 # 20 30 Sector 4", "Cra. 10 # 20 - 30 Sector 4"),
            ("Calle 5 # 10-20 apto: 301", "Cl. 5 # 10 - 20 Apto. 301"),
            ("Calle 5 # 10-20 casa no 7", "Cl. 5 # 10 - 20 Casa 7"),
            ("Dg 8 bis A # 122C 17 - Apartamento 402", "Dg. 8 Bis A # 122C - 17 Apto. 402"),
            (
                "Carrera 12 #136-23 - Conjunto La Candelaria",
                "Cra. 12 # 136 - 23 Conjunto La Candelaria",
            ),
            ("K 29A #111-73 - CONJUNTO USAQUEN", "Cra. 29A # 111 - 73 Conjunto Usaquen"),
            ("KR 45 # 124-15 BARRIO CIUDAD JARDÍN", "Cra. 45 # 124 - 15 Barrio Ciudad Jardín"),
            ("Cl 109 No 109B - 05, Barrio Fontibon", "Cl. 109 # 109B - 05 Barrio Fontibon"),
            ("Cra 15 # 100 - 25 Bario San Jose", "Cra. 15 # 100 - 25 Barrio San Jose"),
            ("Calle 5 # 10-20 barrio 20 de julio", "Cl. 5 # 10 - 20 Barrio 20 de Julio"),
            (
                "Calle 5 Norte # 10-20 Barrio San José de la Montaña",
                "Cl. 5 Norte # 10 - 20 Barrio San José de la Montaña",
            ),
            (
                "Cl 12 # 7-32 Edif. Avianca Of. 501",
                "Cl. 12 # 7 - 32 Edificio Avianca Of. 501",
            ),
            (
                "calle 26 sur # 5-20 edificio torres del parque apto 1203",
                "Cl. 26 Sur # 5 - 20 Edificio Torres del Parque Apto. 1203",
            ),
            (
                "Calle 5 # 10-20 Conjunto Residencial Los Pinos Torre 3 Apto 502",
                "Cl. 5 # 10 - 20 Conjunto Residencial Los Pinos Torre 3 Apto. 502",
            ),
        ],
    )
    def test_examples(self, raw: str, expected: str) -> None:
        """Known complements take their canonical keyword, one space apart, names title-cased."""
        assert assess_address(raw) == Outcome(expected, confident=True, reason="parsed")

    def test_many_complements_are_not_confident(self) -> None:
        """A value with more complements than an address has is tidied but left to review."""
        outcome = assess_address("calle 5 # 10-20 apto 1 torre 2 int 4 casa 5 mz 6 bloque 7 of 8")
        assert outcome == Outcome(
            "Cl. 5 # 10 - 20 Apto. 1 Torre 2 Int. 4 Casa 5 Mz. 6 Bloque 7 Of. 8",
            confident=False,
            reason="long",
        )


class TestRuralAndOtherForms:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("Km 5 Vía Cali-Jamundí", "Km 5 Vía Cali-Jamundí"),
            ("km 5 via cali-jamundi", "Km 5 Via Cali-Jamundi"),
            ("Kilómetro 3 vía al mar", "Km 3 Vía al Mar"),
            ("KM 2.5 VÍA LA CALERA", "Km 2.5 Vía La Calera"),
            ("KM 7 VIA CHIA - CAJICA", "Km 7 Via Chia - Cajica"),
            ("Vereda El Salitre Finca La Esperanza", "Vereda El Salitre Finca La Esperanza"),
            ("VEREDA SAN ISIDRO LOTE 18", "Vereda San Isidro Lote 18"),
            ("finca el recuerdo vereda san isidro", "Finca El Recuerdo Vereda San Isidro"),
            ("vereda  el salitre lote 26", "Vereda El Salitre Lote 26"),
            ("CORREGIMIENTO SANTA HELENA", "Corregimiento Santa Helena"),
            ("vda la palma sector 3", "Vereda La Palma Sector 3"),
        ],
    )
    def test_rural(self, raw: str, expected: str) -> None:
        """Rural forms keep their words, with keywords canonical, and are never confident."""
        assert assess_address(raw) == Outcome(expected, confident=False, reason="rural")

    @pytest.mark.parametrize(
        ("raw", "expected", "reason"),
        [
            ("<script>alert(1)</script>", "<Script>Alert(1)</Script>", "no_street"),
            ("BogotÃ¡ Calle 5", "Bogotá Cl. 5", "partial"),
            ("Mz 5 Casa 3", "Mz. 5 Casa 3", "no_street"),
            ("🏠 Calle 5 # 10-20", "🏠 Cl. 5 # 10 - 20", "leftover"),
            ("sin dirección", "Sin Dirección", "no_street"),
            ("N/A", "N/A", "no_street"),
            ("Calle 45 # 13-23, El Poblado", "Cl. 45 # 13 - 23, El Poblado", "leftover"),
            ("Calle 5 # 10-20 😀", "Cl. 5 # 10 - 20 😀", "leftover"),
            (
                "calle 5 # 10-20 y carrera 7 # 8-9",
                "Cl. 5 # 10 - 20 y Carrera 7 # 8-9",
                "leftover",
            ),
            ("Calle 5 # 10-20 frente al parque", "Cl. 5 # 10 - 20 Frente al Parque", "leftover"),
            ("Cra 15 # 100 - 25 T2", "Cra. 15 # 100 - 25 T2", "leftover"),
            ("calle 8 # 530", "Cl. 8 # 530", "partial"),
            ("CALLE 45", "Cl. 45", "partial"),
            ("Calle 2023 # 10-20", "Cl. 2023 # 10 - 20", "partial"),
            ("Av Boyacá # 12-30", "Av. Boyacá # 12 - 30", "named_street"),
            ("Av Boyacá 12-30", "Av. Boyacá 12-30", "named_street"),
            ("carrrera 7 # 8-9", "Cra. 7 # 8 - 9", "fuzzy"),
        ],
    )
    def test_unrecognised_is_tidied_not_confident(
        self, raw: str, expected: str, reason: str
    ) -> None:
        """What the grammar does not know is kept, case tidied, and marked not confident."""
        assert assess_address(raw) == Outcome(expected, confident=False, reason=reason)

    @pytest.mark.parametrize("raw", ["", "   ", "\t\n", "\u200b"])
    def test_empty(self, raw: str) -> None:
        """Empty or invisible input gives the empty string, confidently."""
        assert assess_address(raw) == Outcome("", confident=True, reason="empty")

    def test_punctuation_only(self) -> None:
        """Separators alone carry nothing: the result is empty and not confident."""
        assert assess_address(" - , ") == Outcome("", confident=False, reason="empty")

    def test_unstable_recasing_keeps_the_cleaned_text(self) -> None:
        """When recasing would look like mojibake to ftfy, the cleaned text is kept as typed."""
        assert assess_address("í°ijé") == Outcome("í°ijé", confident=False, reason="unstable")

    def test_normalize_is_the_assessed_value(self) -> None:
        """normalize_address returns the assessor's value and is linked to it."""
        raw = "kr 2 no 23a-78 torre 2 apto 1203"
        assert normalize_address(raw) == "Cra. 2 # 23A - 78 Torre 2 Apto. 1203"
        assert assess(normalize_address, raw) == assess_address(raw)

    def test_huge_input(self) -> None:
        """A 10k-character value is handled, quickly and within the length bound."""
        raw = "calle 5 # 10-20 " + "ed xy apto 1 vereda la palma t 2 " * 300
        out = normalize_address(raw)
        assert len(out) <= 2 * len(clean_text(raw)) + 16
        assert normalize_address(out) == out
        assert digit_runs(out) == digit_runs(raw)


class TestProperties:
    @given(st.one_of(text_or_form, address_words, address_abbreviations))
    def test_idempotent(self, raw: str) -> None:
        """Normalizing twice changes nothing."""
        once = normalize_address(raw)
        assert normalize_address(once) == once

    @given(st.one_of(address_words, address_abbreviations))
    def test_one_pass_is_enough(self, raw: str) -> None:
        """The grammar alone is idempotent: parsing a rendering gives the same rendering."""
        rendered = parse(clean_text(raw)).render()
        if clean_text(rendered) == rendered:
            assert parse(rendered).render() == rendered

    @given(any_text)
    def test_total(self, raw: str) -> None:
        """Any text at all, surrogates included, gives a string and a coherent outcome."""
        outcome = assess_address(raw)
        assert isinstance(outcome.value, str)
        assert outcome.value == outcome.value.strip()
        assert outcome.reason is not None
        outcome.value.encode("utf-8")

    @given(st.one_of(text_or_form, address_words, address_abbreviations))
    def test_lossless_and_bounded(self, raw: str) -> None:
        """Digit runs are exactly those of the cleaned input, typed words survive in order, and
        expanding abbreviations at most doubles the cleaned input, plus a constant."""
        out = normalize_address(raw)
        cleaned = clean_text(raw)
        assert digit_runs(out) == digit_runs(cleaned)
        assert_letters_kept(raw, out)
        assert len(out) <= 2 * len(cleaned) + 16

    @given(messy_addresses)
    def test_messy_addresses_reach_the_convention(self, pair: tuple[str, str]) -> None:
        """A well-formed address typed any which way gives its canonical form, confidently."""
        messy, canonical = pair
        assert assess_address(messy) == Outcome(canonical, confident=True, reason="parsed")
        assert assess_address(canonical) == Outcome(canonical, confident=True, reason="parsed")

    @given(st.one_of(address_words, form_text))
    def test_confident_means_canonical_head(self, raw: str) -> None:
        """A confident outcome has a street type, number and full plate (or a corner), or a
        place and a unit in it, and is stable."""
        outcome = assess_address(raw)
        if outcome.confident and outcome.value:
            located = _CONFIDENT_HEAD.search(outcome.value) or _LOCATED.match(outcome.value)
            assert located, outcome.value
            assert assess_address(outcome.value) == outcome


class TestLeadsSample:
    """The distinct `direccion` values of examples/leads.jsonl (real-shaped form input)."""

    def test_idempotent_and_lossless(self) -> None:
        """Every sample address is a fixed point after one call and keeps its digits and letters."""
        for raw in sample_addresses():
            out = normalize_address(raw)
            assert normalize_address(out) == out, raw
            assert digit_runs(out) == digit_runs(clean_text(raw)), raw
            assert_letters_kept(raw, out)

    def test_confident_share(self) -> None:
        """Nine in ten sample addresses, and nearly every urban one, are parsed confidently."""
        outcomes = [assess_address(raw) for raw in sample_addresses()]
        confident = sum(outcome.confident for outcome in outcomes)
        urban = [outcome for outcome in outcomes if outcome.reason not in {"rural", "no_street"}]
        assert confident >= 0.9 * len(outcomes)
        assert sum(outcome.confident for outcome in urban) >= 0.99 * len(urban)


# Issue 13: the shapes of real addresses typed into CRMs and public directories. ----------

# Keys that expand to a keyword spelt with an accent ("VI" is "Vía", "Urb" "Urbanización"):
# the only way an accent the user did not type may appear.
_ACCENTED_ABBREVIATIONS = {
    typed
    for table in (STREET_TYPES, {typed: word.canonical for typed, word in COMPLEMENTS.items()})
    for typed, canonical in table.items()
    if not canonical.isascii() and typed != key(canonical)
}

# (typed, written) parts of the generated addresses.
_STREETS = [
    ("CL", "Calle"),
    ("calle", "Calle"),
    ("Cll", "Calle"),
    ("KR", "Cra."),
    ("Carrera", "Cra."),
    ("cra", "Cra."),
    ("AV", "Av."),
    ("AC", "Av. Calle"),
    ("AVCL", "Av. Calle"),
    ("Av. Cl.", "Av. Calle"),
    ("AK", "Av. Cra."),
    ("AVKR", "Av. Cra."),
    ("DG", "Diagonal"),
    ("TV", "Transversal"),
    ("CQ", "Circular"),
    ("AUT", "Autopista"),
    ("VI", "Vía"),
    ("VIA", "Via"),
    ("vía", "Vía"),
]
_CITIES = [
    ("BOGOTA", "Bogota"),
    ("Bogotá D.C.", "Bogotá D.C."),
    ("CALI", "Cali"),
    ("Medellín", "Medellín"),
    ("BARRANQUILLA ATLANTICO", "Barranquilla Atlantico"),
    ("CUCUTA - NORTE DE SANTANDER", "Cucuta - Norte de Santander"),
    ("Soacha, Cundinamarca", "Soacha, Cundinamarca"),
    ("VALLE DEL CAUCA", "Valle del Cauca"),
    ("SUBA", "Suba"),
    ("Colombia", "Colombia"),
]
_BUILDINGS = [
    ("EDIFICIO LOS PINOS", "Edificio Los Pinos"),
    ("C.C. PLAZA MAYOR", "C.C. Plaza Mayor"),
    ("CC EL RETIRO", "C.C. El Retiro"),
    ("CONJ RES EL BOSQUE", "Conjunto Residencial El Bosque"),
    ("Urb. Villa Real", "Urbanización Villa Real"),
    ("CENTRO COMERCIAL GRAN PLAZA", "Centro Comercial Gran Plaza"),
    ("BRR LA PAZ", "Barrio La Paz"),
]
_CODES = [
    ("TO 2", "Torre 2"),
    ("AP 501", "Apto. 501"),
    ("BL 4", "Bloque 4"),
    ("IN 3", "Int. 3"),
    ("ET 2", "Etapa 2"),
    ("MNZ 4", "Mz. 4"),
    ("CA 12", "Casa 12"),
    ("PI 3", "Piso 3"),
    ("OFIC 203", "Of. 203"),
    ("CONS 405", "Consultorio 405"),
    ("TORRE SUR", "Torre Sur"),
    ("LOCAL 2 173", "Local 2 173"),
    ("MZ B 06", "Mz. B 06"),
    ("CONJ RES LOS PINOS", "Conjunto Residencial Los Pinos"),
    ("Urb. Los Almendros", "Urbanización Los Almendros"),
    ("BRR SAN JOSE", "Barrio San Jose"),
    ("UNIDAD RESIDENCIAL EL TREBOL", "Unidad Residencial El Trebol"),
    ("C.C. PUERTA DEL SOL", "C.C. Puerta del Sol"),
]
_SPACES = st.sampled_from([" ", "  ", "    "])


def _street_suffix(draw: st.DrawFn) -> tuple[str, str, bool]:
    """A street number's suffix, typed and written, and whether it ends in a lone N apart."""
    letter = draw(st.sampled_from(["", "A", "B", "D", "F"]))
    glue = draw(st.sampled_from(["", " ", "-"])) if letter else ""
    typed, written = glue + letter, letter
    if letter and draw(st.booleans()):
        typed, written = typed + " BIS", written + " Bis"
    quadrant = draw(st.sampled_from(["", "SUR", "Este", "NORTE", "NTE", "N", " N"]))
    if quadrant == "N" and written.endswith("Bis"):
        quadrant = " N"
    if quadrant == "N":
        return typed + "N", written + "N", False  # "45N", "45AN": Norte glued
    if quadrant == " N":
        return typed + " N", written + " N", True
    if quadrant:
        written += " " + QUADRANTS[key(quadrant)]
        typed += " " + quadrant
    return typed, written, False


def _cross_suffix(draw: st.DrawFn) -> tuple[str, str]:
    """A cross number's suffix, typed and written."""
    return draw(
        st.sampled_from(
            [
                ("", ""),
                ("B", "B"),
                (" B", "B"),
                ("-D", "D"),
                ("AN", "AN"),
                ("N", "N"),
                (" N", " N"),
                (" SUR", " Sur"),
            ]
        )
    )


@st.composite
def _real_address(draw: st.DrawFn, names: bool = True) -> tuple[str, str]:
    """A real-shaped urban address, typed and in the canonical form: a town or a building
    before or after the street, Norte as "N", letters after a dash, a comma before the
    plate, the DIAN's short codes, runs of spaces. With `names`, complements that take a
    name ("Barrio San José") may end it."""
    space = draw(_SPACES)
    typed: list[str] = []
    written = ""
    prefix = draw(st.sampled_from(["", "city", "building", "both"]))
    if prefix in ("city", "both"):
        city, city_written = draw(st.sampled_from(_CITIES))
        after = draw(st.sampled_from([" ", ", ", " - "]))
        typed.append(city + after)
        written += city_written + after
    if prefix in ("building", "both"):
        building, building_written = draw(st.sampled_from(_BUILDINGS))
        typed.append(building + draw(st.sampled_from([" ", ", ", " - "])))
        written += building_written + " "
    street, street_written = draw(st.sampled_from(_STREETS))
    number = str(draw(st.integers(0, 199)))
    suffix, suffix_written, lone_north = _street_suffix(draw)
    typed.append(f"{street} {number}{suffix}")
    written += f"{street_written} {number}{suffix_written}"
    markers = [" #", " # ", " No", " NO.", " Nro", " N°", ", #", ",NO."]
    if not lone_north:
        markers += ["", ",", " -"]  # no marker: only a lone N apart would be ambiguous
    marker = draw(st.sampled_from(markers))
    cross = str(draw(st.integers(1, 199)))
    cross_suffix, cross_written = _cross_suffix(draw)
    dash = draw(st.sampled_from(["-", " - ", " ", "–"]))
    plate = draw(st.sampled_from(["05", "25", "100", "8"]))
    typed.append(f"{marker} {cross}{cross_suffix}{dash}{plate}")
    written += f" # {cross}{cross_written} - {plate}"
    codes = _CODES if names else [code for code in _CODES if code[1].split()[-1].isdigit()]
    for _ in range(draw(st.integers(0, 3))):
        code, code_written = draw(st.sampled_from(codes))
        typed.append(draw(st.sampled_from([" ", ", ", " - "])) + code)
        written += " " + code_written
    if draw(st.booleans()):
        city, city_written = draw(st.sampled_from(_CITIES))
        before = draw(st.sampled_from([" ", ", ", " - "]))
        typed.append(before + city)
        written += before + city_written
    return space.join(typed), written


@st.composite
def _corner(draw: st.DrawFn) -> tuple[str, str]:
    """Two streets: their corner ("Calle 45 con Cra. 13") or a house on one of them
    ("Cra. 12 Calle 31 - 54"), typed and in the canonical form."""
    streets = [s for s in _STREETS if s[1] in ("Calle", "Cra.", "Diagonal", "Transversal")]
    first, first_written = draw(st.sampled_from(streets))
    second, second_written = draw(st.sampled_from(streets))
    one, two = (str(draw(st.integers(1, 199))) for _ in range(2))
    letter = draw(st.sampled_from(["", "A", "C"]))
    if draw(st.booleans()):
        corner = draw(st.sampled_from(["con", "CON", "Con"]))
        return (
            f"{first} {one}{letter} {corner} {second} {two}",
            f"{first_written} {one}{letter} con {second_written} {two}",
        )
    plate = draw(st.sampled_from(["54", "05", "120"]))
    dash = draw(st.sampled_from([" -", "-", " ", " - "]))
    return (
        f"{first} {one}{letter} {second} {two}{dash}{plate}",
        f"{first_written} {one}{letter} {second_written} {two} - {plate}",
    )


@st.composite
def _urbanization(draw: st.DrawFn) -> tuple[str, str]:
    """A place and a unit in it, without a street ("Urb. X Mz B Casa 6"), typed and written."""
    places = [b for b in _BUILDINGS if not b[0].startswith("C")] + [
        ("URBANIZACION LOS ALMENDROS", "Urbanizacion Los Almendros"),
        ("CDLA EL BOSQUE", "Ciudadela El Bosque"),
        ("CONJUNTO CERRADO LOS LAGOS", "Conjunto Cerrado Los Lagos"),
    ]
    place, place_written = draw(st.sampled_from(places))
    units = draw(
        st.lists(
            st.sampled_from(
                [
                    ("MZ 12", "Mz. 12"),
                    ("MNZ B 06", "Mz. B 06"),
                    ("MANZANA F", "Mz. F"),
                    ("CS 5", "Casa 5"),
                    ("CASA 14", "Casa 14"),
                    ("LT 8", "Lote 8"),
                    ("TORRE 3", "Torre 3"),
                    ("APTO 502", "Apto. 502"),
                ]
            ),
            min_size=1,
            max_size=2,
        )
    )
    parts = [(place, place_written), *units]
    if draw(st.booleans()):
        parts = [*units, (place, place_written)]
    typed = draw(st.sampled_from([" ", ", ", " - "])).join(typed for typed, _ in parts)
    written = " ".join(written for _, written in parts)
    return typed, written


@st.composite
def _with_junk(draw: st.DrawFn) -> str:
    """A good address followed by what the grammar cannot vouch for: a phone, directions.

    Not after a name ("Barrio San José Frente al Parque"): nothing tells where a name ends.
    """
    address, _ = draw(_real_address(names=False))
    junk = draw(
        st.sampled_from(
            [
                "TEL 6012345678",
                "CEL 310 456 7890",
                "3125550101",
                "FRENTE AL PARQUE",
                "ESQUINA",
                "EL POBLADO",
                "2DO PISO",
                "CASA ESQUINERA",
            ]
        )
    )
    return f"{address} {junk}"


class TestNorte:
    """A lone N after a number is Cali's and Cúcuta's Norte, kept where it was typed."""

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            # Apart, before the plate's marker: Norte.
            ("CL 17 N # 6N 28", "Cl. 17 N # 6N - 28"),
            ("CL 7 N # 3 30", "Cl. 7 N # 3 - 30"),
            ("calle 36 n # 6 a 65", "Cl. 36 N # 6A - 65"),
            ("CALLE 15 N NO 8-30", "Cl. 15 N # 8 - 30"),
            ("Cra 1 N Nº 56-15", "Cra. 1 N # 56 - 15"),
            ("av 2 n #24n-70 of 203", "Av. 2 N # 24N - 70 Of. 203"),
            ("CL 25 N, # 2BN-85", "Cl. 25 N # 2BN - 85"),
            # Glued to the number or to its letter, on the street or the cross street.
            ("AV 6 N # 17AN 31", "Av. 6 N # 17AN - 31"),
            ("calle 23an # 4n-45 apto 301", "Cl. 23AN # 4N - 45 Apto. 301"),
            ("CL 44N # 2GN-30", "Cl. 44N # 2GN - 30"),
            ("Calle 18N 5 30", "Cl. 18N # 5 - 30"),
            ("AV 5AN # 20N-41", "Av. 5AN # 20N - 41"),
            # Apart after the cross number.
            ("CL 15 # 4 N 20", "Cl. 15 # 4 N - 20"),
            ("AV 3 N # 44 N-45", "Av. 3 N # 44 N - 45"),
            # A Norte on the cross street settles the street's lone N.
            ("CL 17 N 6N 28", "Cl. 17 N # 6N - 28"),
            # After a quadrant, the lone N is the number marker; "N." and "N°" always are.
            ("CALLE 5 SUR N 10 20", "Cl. 5 Sur # 10 - 20"),
            ("CL 34 N. 12-20", "Cl. 34 # 12 - 20"),
            ("KR 15 N° 8-30", "Cra. 15 # 8 - 30"),
            # Norte in words and abbreviated.
            ("Av 6 Nte # 21-40", "Av. 6 Norte # 21 - 40"),
            ("Av 6 Nte. # 21-40", "Av. 6 Norte # 21 - 40"),
            ("CL 12NORTE # 5-20", "Cl. 12 Norte # 5 - 20"),
        ],
    )
    def test_norte(self, raw: str, expected: str) -> None:
        """Norte typed as N is kept where it was typed, apart or glued, and read confidently."""
        assert assess_address(raw) == Outcome(expected, confident=True, reason="parsed")

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("CL 7 N 3 30", "Cl. 7 N 3 - 30"),
            ("CR 30 N 45-12", "Cra. 30 N 45 - 12"),
            ("kra 7 n 45-05 apto 201", "Cra. 7 N 45 - 05 Apto. 201"),
            ("Calle 10 A N 4 21", "Cl. 10A N 4 - 21"),
        ],
    )
    def test_lone_n_before_a_number_is_ambiguous(self, raw: str, expected: str) -> None:
        """Between the street number and a number, a lone N is Norte in Cali and "número"
        elsewhere: it is kept as typed, without a "#", and the value is left to the model."""
        assert assess_address(raw) == Outcome(expected, confident=False, reason="ambiguous")

    def test_both_readings_of_an_ambiguous_n_pass_the_guard(self) -> None:
        """The model, which sees the city, may read the lone N either way."""
        raw = "CL 7 N 3 30"
        for answer in ("Cl. 7 # 3 - 30", "Cl. 7 Norte # 3 - 30", normalize_address(raw)):
            assert GUARD.check(DIRECCION, raw, answer).ok, answer

    @given(st.sampled_from(_STREETS), st.integers(1, 199), st.sampled_from(["", "A", "B"]))
    def test_ambiguous_n_in_general(
        self, street: tuple[str, str], number: int, letter: str
    ) -> None:
        """Any street with a lone N before its plate's numbers is kept as typed and unsure."""
        typed, written = street
        outcome = assess_address(f"{typed} {number}{letter} N 12 30", "legacy")
        assert outcome == Outcome(
            f"{written} {number}{letter} N 12 - 30", confident=False, reason="ambiguous"
        )


class TestAddressForms:
    """Short codes, letters after a dash, a comma before the plate, corners, named places."""

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            # The DIAN's short codes.
            ("Calle 45 # 12-30 To 2 Ap 501", "Cl. 45 # 12 - 30 Torre 2 Apto. 501"),
            ("KR 9 # 80-15 BL 4 AP 202", "Cra. 9 # 80 - 15 Bloque 4 Apto. 202"),
            ("CL 152 # 72-41 IN 3", "Cl. 152 # 72 - 41 Int. 3"),
            ("CRA 58 # 128-42 ET 2 TO 5 AP 403", "Cra. 58 # 128 - 42 Etapa 2 Torre 5 Apto. 403"),
            ("cl 22 # 5-40 ofic 203", "Cl. 22 # 5 - 40 Of. 203"),
            ("DG 5 # 71-35 BQ 3 CA 4", "Dg. 5 # 71 - 35 Bloque 3 Casa 4"),
            ("CRA 9 # 113-52 CONS 405 PI 4", "Cra. 9 # 113 - 52 Consultorio 405 Piso 4"),
            ("Cra 20 # 30-40 Mnz 4 Cs 2", "Cra. 20 # 30 - 40 Mz. 4 Casa 2"),
            ("TV 3 # 5-60 TORRE SUR OF 203", "Tr. 3 # 5 - 60 Torre Sur Of. 203"),
            # A number marker between a keyword and its value goes, whatever its spelling.
            ("Calle 5 # 10-20 Casa N° 5", "Cl. 5 # 10 - 20 Casa 5"),
            ("Calle 5 # 10-20 Apto # # 301", "Cl. 5 # 10 - 20 Apto. 301"),
            # A letter after a dash.
            ("CRA 68-D # 12-30", "Cra. 68D # 12 - 30"),
            ("calle 45-a # 12-30", "Cl. 45A # 12 - 30"),
            ("KR 24-B BIS # 63-40", "Cra. 24B Bis # 63 - 40"),
            ("CL 80 # 68-D 30", "Cl. 80 # 68D - 30"),
            ("Cl 80 # 68-d-30", "Cl. 80 # 68D - 30"),
            # A comma or a dash between the street and its plate.
            ("Calle 45, # 13-23,", "Cl. 45 # 13 - 23"),
            ("CRA 12, 31-54", "Cra. 12 # 31 - 54"),
            ("CALLE 45 - 13-23", "Cl. 45 # 13 - 23"),
            ("CL 50, NO 12-41 APTO 301", "Cl. 50 # 12 - 41 Apto. 301"),
            ("KR 33A; # 29-31", "Cra. 33A # 29 - 31"),
            # Corners: "con" between two streets, or a house on the first by the second.
            ("Calle 45 con Carrera 13", "Cl. 45 con Cra. 13"),
            ("AV 68 CON CL 13", "Av. 68 con Cl. 13"),
            ("CL 19 CON KR 7 LOCAL 3", "Cl. 19 con Cra. 7 Local 3"),
            ("CRA 12 CL 31 -54 AP1", "Cra. 12 Cl. 31 - 54 Apto. 1"),
            ("CL 10 KR 43 50", "Cl. 10 Cra. 43 - 50"),
            ("DG 40 TV 15 20", "Dg. 40 Tr. 15 - 20"),
            # Named places after their keyword, short or long.
            ("CRA 45 # 12-30 URB. LOS PINOS", "Cra. 45 # 12 - 30 Urbanización Los Pinos"),
            (
                "Calle 45 # 13-23 Conj Res Los Pinos",
                "Cl. 45 # 13 - 23 Conjunto Residencial Los Pinos",
            ),
            (
                "CALLE 17 # 8-20 CONJ. RES. BOSQUES DE SAN JORGE CASA 14",
                "Cl. 17 # 8 - 20 Conjunto Residencial Bosques de San Jorge Casa 14",
            ),
            ("CL 45 # 13-23 BRR LA PAZ", "Cl. 45 # 13 - 23 Barrio La Paz"),
            (
                "KR 30 # 15-20 UNIDAD RESIDENCIAL EL TREBOL BL 2 AP 303",
                "Cra. 30 # 15 - 20 Unidad Residencial El Trebol Bloque 2 Apto. 303",
            ),
            (
                "CR 52 # 14-30 LC 101 C.C. PUERTA DEL SOL",
                "Cra. 52 # 14 - 30 Local 101 C.C. Puerta del Sol",
            ),
            (
                "CR 100 # 11-60 LOCAL 269 CC UNICENTRO",
                "Cra. 100 # 11 - 60 Local 269 C.C. Unicentro",
            ),
            # Avenues and motorways typed as one word, Barranquilla's Vía 40.
            ("AUT 45 # 175-50", "Autop. 45 # 175 - 50"),
            ("AVCL 26 # 68B-70", "Ac. 26 # 68B - 70"),
            ("AVKR 30 # 24-51", "Ak. 30 # 24 - 51"),
            ("AV.CL. 19 # 120-71", "Ac. 19 # 120 - 71"),
            ("VI 40 # 73-290", "Vía 40 # 73 - 290"),
            # Medellín's doubled letters.
            ("CL 10 SUR # 50FF-28", "Cl. 10 Sur # 50FF - 28"),
            ("KR 80 # 32EE-42", "Cra. 80 # 32EE - 42"),
            ("CRA 25 # 1ASUR-45", "Cra. 25 # 1A Sur - 45"),
        ],
    )
    def test_examples(self, raw: str, expected: str) -> None:
        """Each form is written in the convention, confidently."""
        assert assess_address(raw) == Outcome(expected, confident=True, reason="parsed")

    @pytest.mark.parametrize(
        ("raw", "expected", "reason"),
        [
            ("VIA 40 # 79B-06 BODEGA 3", "Via 40 # 79B - 06 Bodega 3", "parsed"),
            ("vía 40 # 69-165", "Vía 40 # 69 - 165", "parsed"),
            ("km 3 via al mar", "Km 3 Via al Mar", "rural"),
            (
                "CL 9 # 6-10 URBANIZACION VILLA DEL RIO",
                "Cl. 9 # 6 - 10 Urbanizacion Villa del Rio",
                "parsed",
            ),
            (
                "CL 9 # 6-10 urbanización villa del río",
                "Cl. 9 # 6 - 10 Urbanización Villa del Río",
                "parsed",
            ),
        ],
    )
    def test_no_accent_is_added_to_a_word_typed(self, raw: str, expected: str, reason: str) -> None:
        """A keyword typed in full keeps its accents as typed: "Via" stays "Via"."""
        outcome = assess_address(raw)
        assert (outcome.value, outcome.reason) == (expected, reason)

    @given(
        st.one_of(address_words, st.text(alphabet=string.ascii_letters + string.digits + " #-.,"))
    )
    def test_ascii_stays_ascii(self, raw: str) -> None:
        """Text typed without accents gets none, unless an abbreviation is spelt out ("VI")."""
        assume(not {token.key for token in tokenize(raw)} & _ACCENTED_ABBREVIATIONS)
        for style in ("legacy", "abbreviated"):
            out = normalize_address(raw, style)
            assert all(char.isascii() or char in raw for char in out), out

    @given(_corner())
    def test_corners(self, pair: tuple[str, str]) -> None:
        """Two streets, with "con" or with a house number on the second, are read confidently."""
        typed, written = pair
        assert assess_address(typed, "legacy") == Outcome(written, confident=True, reason="parsed")
        assert assess_address(written, "legacy") == Outcome(
            written, confident=True, reason="parsed"
        )


class TestRealShapes:
    """A town, a building or a shopping centre before the street, places after it, urbanizations."""

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            # The town, a building or a shopping centre first.
            ("CALI    CARRERA 9 #  11   50    PISO 4", "Cali Cra. 9 # 11 - 50 Piso 4"),
            (
                "BOGOTA   CARRERA 46 20B 99 EDIFICIO COPER PISO 4",
                "Bogota Cra. 46 # 20B - 99 Edificio Coper Piso 4",
            ),
            (
                "BOGOTA CENTRO COMERCIAL CENTRO MAYOR    AV 27 SUR NO.  42 61 LOCAL 2 173",
                "Bogota Centro Comercial Centro Mayor Av. 27 Sur # 42 - 61 Local 2 173",
            ),
            ("Medellín - Antioquia, CL 30 # 65-14", "Medellín - Antioquia, Cl. 30 # 65 - 14"),
            ("BOGOTA D.C. CALLE 80 # 69-70", "Bogota D.C. Cl. 80 # 69 - 70"),
            ("bogota dc cra 19 # 150-40", "Bogota DC Cra. 19 # 150 - 40"),
            (
                "EDIFICIO TORRES DEL PARQUE CRA 5 # 26-40 APTO 1202",
                "Edificio Torres del Parque Cra. 5 # 26 - 40 Apto. 1202",
            ),
            (
                "C.C. PLAZA CENTRAL LOCAL 301 CRA 65 # 11-50",
                "C.C. Plaza Central Local 301 Cra. 65 # 11 - 50",
            ),
            (
                "URB. LA CAMPIÑA CRA 20 # 3-40 CASA 15",
                "Urbanización La Campiña Cra. 20 # 3 - 40 Casa 15",
            ),
            # Towns, departments, Bogotá's localities and the country after it.
            ("CL 45 12 30 MEDELLIN", "Cl. 45 # 12 - 30 Medellin"),
            ("Calle 45 # 13-23, Bogotá D.C.", "Cl. 45 # 13 - 23, Bogotá D.C."),
            (
                "Cra 7 #40-62 piso 3, Bogotá D.C., Colombia",
                "Cra. 7 # 40 - 62 Piso 3, Bogotá D.C., Colombia",
            ),
            ("CALLE 9 # 9-99 SOACHA CUNDINAMARCA", "Cl. 9 # 9 - 99 Soacha Cundinamarca"),
            ("Calle 5 # 10-20 (Bogotá)", "Cl. 5 # 10 - 20 (Bogotá)"),
            ("CRA 11 # 93-07 SUBA BOGOTA", "Cra. 11 # 93 - 07 Suba Bogota"),
            # Runs of spaces as separators.
            ("CL 19     # 4 - 74       LOCAL 112      BOGOTA", "Cl. 19 # 4 - 74 Local 112 Bogota"),
            ("CALLE   26    68C   61", "Cl. 26 # 68C - 61"),
            # No street: a named place and a unit in it.
            ("URB VILLA MARAVELEZ MNZ B 06", "Urbanización Villa Maravelez Mz. B 06"),
            ("Mz 5 Casa 3 Barrio El Prado", "Mz. 5 Casa 3 Barrio El Prado"),
            ("BRR LAS MALVINAS MZ 23 LT 8", "Barrio Las Malvinas Mz. 23 Lote 8"),
            (
                "CONJUNTO RESIDENCIAL PALMA REAL TORRE 5 APTO 302",
                "Conjunto Residencial Palma Real Torre 5 Apto. 302",
            ),
            (
                "URB. EL RECREO MZ 14 CS 9, VALLEDUPAR",
                "Urbanización El Recreo Mz. 14 Casa 9, Valledupar",
            ),
        ],
    )
    def test_examples(self, raw: str, expected: str) -> None:
        """What stands before or after a whole address is known, and the address is confident."""
        assert assess_address(raw) == Outcome(expected, confident=True, reason="parsed")

    @pytest.mark.parametrize(
        ("raw", "expected", "reason"),
        [
            ("MZ 20 CASA 14", "Mz. 20 Casa 14", "no_street"),
            ("BARRIO CENTRO", "Barrio Centro", "no_street"),
            ("CRA 15 # 100-25 TEL 6012345678", "Cra. 15 # 100 - 25 Tel 6012345678", "leftover"),
            ("CALLE 80 # 24-30 3125550101", "Cl. 80 # 24 - 30 3125550101", "leftover"),
            (
                "ENTREGAR EN PORTERIA CRA 15 # 100-25",
                "Entregar en Porteria Cra. 15 # 100 - 25",
                "leftover",
            ),
            (
                "CENTRO EMPRESARIAL PUNTO 93 CALLE 93 # 15-40",
                "Centro Empresarial Punto 93 Cl. 93 # 15 - 40",
                "leftover",
            ),
            ("CR 43A 14 109 EL POBLADO", "Cra. 43A # 14 - 109 El Poblado", "leftover"),
            ("CALLE 72 CON CRA 11 ESQUINA", "Cl. 72 con Cra. 11 Esquina", "leftover"),
            ("CR 15 CL 85", "Cra. 15 Cl. 85", "partial"),
        ],
    )
    def test_unsure_shapes_stay_unsure(self, raw: str, expected: str, reason: str) -> None:
        """A phone, directions, a bare neighbourhood or an unknown building are left to the model."""
        assert assess_address(raw) == Outcome(expected, confident=False, reason=reason)

    @given(_real_address())
    def test_real_addresses_reach_the_convention(self, pair: tuple[str, str]) -> None:
        """A real-shaped address typed any which way gives its canonical form, confidently."""
        typed, written = pair
        assert assess_address(typed, "legacy") == Outcome(written, confident=True, reason="parsed")
        assert assess_address(written, "legacy") == Outcome(
            written, confident=True, reason="parsed"
        )

    @given(_real_address())
    def test_real_addresses_are_lossless_and_pass_the_guard(self, pair: tuple[str, str]) -> None:
        """The output keeps every digit and typed word, is stable, and the guard accepts it."""
        typed, _ = pair
        out = normalize_address(typed)
        assert normalize_address(out) == out
        assert digit_runs(out) == digit_runs(clean_text(typed))
        assert_letters_kept(typed, out)
        assert GUARD.check(DIRECCION, typed, out).ok

    @given(_urbanization())
    def test_urbanizations(self, pair: tuple[str, str]) -> None:
        """A named place and its units, without a street, are read confidently."""
        typed, written = pair
        assert assess_address(typed, "legacy") == Outcome(written, confident=True, reason="parsed")

    @given(_with_junk())
    def test_junk_keeps_a_value_unsure(self, raw: str) -> None:
        """A phone number or directions after an address leave it to the model, losing nothing."""
        outcome = assess_address(raw)
        assert not outcome.confident
        assert digit_runs(outcome.value) == digit_runs(clean_text(raw))
