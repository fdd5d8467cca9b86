import json
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_normalize.postprocessors._address_lexicon import (
    COMPLEMENTS,
    NUMBER_MARKERS,
    STREET_TYPES,
    fuzzy_street_type,
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
_VOCABULARY = set(STREET_TYPES) | set(COMPLEMENTS) | NUMBER_MARKERS

_LETTER = r"[^\W\d_]"
_SUFFIX = rf"{_LETTER}?( Bis( {_LETTER})?)?( (Sur|Este|Norte|Oeste|Oriente|Occidente))?"
_CONFIDENT_HEAD = re.compile(
    r"(Calle|Cra\.|Av\.|Av\. Calle|Av\. Cra\.|Diagonal|Transversal|Circular|Circunvalar"
    rf"|Autopista|Vía) \d{{1,3}}{_SUFFIX} # \d{{1,3}}{_SUFFIX} - \d{{1,3}}"
)


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
            ("CR 30 N 45 - 12", "Cra. 30 # 45 - 12"),
            ("carrera 61a 149 57", "Cra. 61A # 149 - 57"),
            # Carrera spellings and typos.
            ("K 29A #111-73", "Cra. 29A # 111 - 73"),
            ("Cr 1 No. 103-82", "Cra. 1 # 103 - 82"),
            ("crr 8 # 12-30", "Cra. 8 # 12 - 30"),
            ("carrea 8 # 12-30", "Cra. 8 # 12 - 30"),
            # Calle spellings, letters glued, Bis, quadrants in place.
            ("CALLE 157 SUR NO 48-35", "Calle 157 Sur # 48 - 35"),
            ("cll 45 a # 12 - 30", "Calle 45A # 12 - 30"),
            ("Clle 23a # 5-10", "Calle 23A # 5 - 10"),
            ("Cl. 26 nro 13-19", "Calle 26 # 13 - 19"),
            ("calle 45A bis # 12-30", "Calle 45A Bis # 12 - 30"),
            ("Calle 61 bis A #14-14", "Calle 61 Bis A # 14 - 14"),
            ("CLL 11BIS #179 - 31", "Calle 11 Bis # 179 - 31"),
            ("CL 7 DBIS # 125 27", "Calle 7D Bis # 125 - 27"),
            ("calle 38 a bis sur # 3A-18 este", "Calle 38A Bis Sur # 3A - 18 Este"),
            ("calle 163 b sur 21 16", "Calle 163B Sur # 21 - 16"),
            ("Cll 15 Este # 62 3", "Calle 15 Este # 62 - 3"),
            ("Cra 8 # 12B-35 Sur", "Cra. 8 # 12B - 35 Sur"),
            ("cra. 43a # 1sur-50", "Cra. 43A # 1 Sur - 50"),
            ("C 45 # 12-30", "Calle 45 # 12 - 30"),
            # Avenues.
            ("Av. Cra 68 #22 - 47", "Av. Cra. 68 # 22 - 47"),
            ("AVENIDA CARRERA 9 55C-93", "Av. Cra. 9 # 55C - 93"),
            ("ak 23E #92 - 79", "Av. Cra. 23E # 92 - 79"),
            ("AC 6 Norte # 48 96", "Av. Calle 6 Norte # 48 - 96"),
            ("Avenida Calle 2 SUR Nro 26B-39.", "Av. Calle 2 Sur # 26B - 39"),
            ("av calle 12 no 158-48", "Av. Calle 12 # 158 - 48"),
            ("AV. CRA 6H 172-68", "Av. Cra. 6H # 172 - 68"),
            ("Avda 19 # 100-20", "Av. 19 # 100 - 20"),
            ("AVENIDA 9 #159 -90,", "Av. 9 # 159 - 90"),
            # The other street types.
            ("DIAGONAL 59 106 - 52", "Diagonal 59 # 106 - 52"),
            ("diag 69 no 150-57", "Diagonal 69 # 150 - 57"),
            ("Dg 8 bis A # 122C 17", "Diagonal 8 Bis A # 122C - 17"),
            ("transversal 3f no 41-87", "Transversal 3F # 41 - 87"),
            ("trans 81 No 173 37", "Transversal 81 # 173 - 37"),
            ("Tr 109 #45-2", "Transversal 109 # 45 - 2"),
            ("TV 12 C BIS A NO 116C-6", "Transversal 12C Bis A # 116C - 6"),
            ("Circular 1 # 47B - 38", "Circular 1 # 47B - 38"),
            ("CQ 14 SUR Nro 140 43", "Circular 14 Sur # 140 - 43"),
            ("Autopista 45 # 20-10", "Autopista 45 # 20 - 10"),
            ("Vía 40 # 73-290", "Vía 40 # 73 - 290"),
            # Leading zeros and trailing punctuation.
            ("CALLE 17 # 61 - 01", "Calle 17 # 61 - 01"),
            ("CALLE 2 # 107 99,", "Calle 2 # 107 - 99"),
            ("calle 10 no 76b - 71.", "Calle 10 # 76B - 71"),
            # Mojibake and invisible debris.
            ("CALLE\u200b 45 # 12-30", "Calle 45 # 12 - 30"),
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
            "Calle 45A Bis # 12 - 30",
            "Calle 157 Sur # 48 - 35",
            "Av. Calle 15 Este # 91 - 15 Apto. 804",
            "Av. Cra. 68 # 22 - 47",
            "Transversal 12C Bis A # 116C - 6 Of. 804",
            "Calle 1 # 138 - 22 Torre 2 Apto. 301",
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
            ("CALLE 143 98 60 - TORRE 5 APTO 1203", "Calle 143 # 98 - 60 Torre 5 Apto. 1203"),
            ("cl 1 # 138 22 torre 2 apto 301", "Calle 1 # 138 - 22 Torre 2 Apto. 301"),
            ("CRA 71 # 54-22 INT 11", "Cra. 71 # 54 - 22 Int. 11"),
            ("Carrera 3 E # 97-79, Local 36", "Cra. 3E # 97 - 79 Local 36"),
            ("CALLE 34HBIS #119-61 APARTAMENTO 201", "Calle 34H Bis # 119 - 61 Apto. 201"),
            ("Calle 45 # 12-30 T 2 Ap 501", "Calle 45 # 12 - 30 Torre 2 Apto. 501"),
            ("Cra 7 Bis # 45-12 Torre B Apto 501B", "Cra. 7 Bis # 45 - 12 Torre B Apto. 501B"),
            ("CRA 7 # 45-12 BLQ 4 APTO 302", "Cra. 7 # 45 - 12 Bloque 4 Apto. 302"),
            ("calle 5 # 10-20 mz 3 cs 14", "Calle 5 # 10 - 20 Mz. 3 Casa 14"),
            ("Cra 8 # 12-30 piso 2 oficina 201", "Cra. 8 # 12 - 30 Piso 2 Of. 201"),
            ("CALLE 100 # 19-61 OFC 802", "Calle 100 # 19 - 61 Of. 802"),
            ("Calle 80 # 100-50 Lc 5", "Calle 80 # 100 - 50 Local 5"),
            ("Calle 10 # 5-51 Local 1-12", "Calle 10 # 5 - 51 Local 1-12"),
            ("Calle 1 # 1-1 Etapa II", "Calle 1 # 1 - 1 Etapa II"),
            ("Calle 9 # 6-05 Bodega 3", "Calle 9 # 6 - 05 Bodega 3"),
            ("Carrera 10 # 20 30 Sector 4", "Cra. 10 # 20 - 30 Sector 4"),
            ("Calle 5 # 10-20 apto: 301", "Calle 5 # 10 - 20 Apto. 301"),
            ("Calle 5 # 10-20 casa no 7", "Calle 5 # 10 - 20 Casa 7"),
            ("Dg 8 bis A # 122C 17 - Apartamento 402", "Diagonal 8 Bis A # 122C - 17 Apto. 402"),
            (
                "Carrera 12 #136-23 - Conjunto La Candelaria",
                "Cra. 12 # 136 - 23 Conjunto La Candelaria",
            ),
            ("K 29A #111-73 - CONJUNTO USAQUEN", "Cra. 29A # 111 - 73 Conjunto Usaquen"),
            ("KR 45 # 124-15 BARRIO CIUDAD JARDÍN", "Cra. 45 # 124 - 15 Barrio Ciudad Jardín"),
            ("Cl 109 No 109B - 05, Barrio Fontibon", "Calle 109 # 109B - 05 Barrio Fontibon"),
            ("Cra 15 # 100 - 25 Bario San Jose", "Cra. 15 # 100 - 25 Barrio San Jose"),
            ("Calle 5 # 10-20 barrio 20 de julio", "Calle 5 # 10 - 20 Barrio 20 de Julio"),
            (
                "Calle 5 Norte # 10-20 Barrio San José de la Montaña",
                "Calle 5 Norte # 10 - 20 Barrio San José de la Montaña",
            ),
            (
                "Cl 12 # 7-32 Edif. Avianca Of. 501",
                "Calle 12 # 7 - 32 Edificio Avianca Of. 501",
            ),
            (
                "calle 26 sur # 5-20 edificio torres del parque apto 1203",
                "Calle 26 Sur # 5 - 20 Edificio Torres del Parque Apto. 1203",
            ),
            (
                "Calle 5 # 10-20 Conjunto Residencial Los Pinos Torre 3 Apto 502",
                "Calle 5 # 10 - 20 Conjunto Residencial Los Pinos Torre 3 Apto. 502",
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
            "Calle 5 # 10 - 20 Apto. 1 Torre 2 Int. 4 Casa 5 Mz. 6 Bloque 7 Of. 8",
            confident=False,
            reason="long",
        )


class TestRuralAndOtherForms:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("Km 5 Vía Cali-Jamundí", "Km 5 Vía Cali-Jamundí"),
            ("km 5 via cali-jamundi", "Km 5 Vía Cali-Jamundi"),
            ("Kilómetro 3 vía al mar", "Km 3 Vía al Mar"),
            ("KM 2.5 VÍA LA CALERA", "Km 2.5 Vía La Calera"),
            ("KM 7 VIA CHIA - CAJICA", "Km 7 Vía Chia - Cajica"),
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
            ("BogotÃ¡ Calle 5", "Bogotá Calle 5", "no_street"),
            ("Mz 5 Casa 3 Barrio El Prado", "Mz. 5 Casa 3 Barrio El Prado", "no_street"),
            ("🏠 Calle 5 # 10-20", "🏠 Calle 5 # 10-20", "no_street"),
            ("sin dirección", "Sin Dirección", "no_street"),
            ("N/A", "N/A", "no_street"),
            ("Calle 45 # 13-23, Bogotá D.C.", "Calle 45 # 13 - 23, Bogotá D.C.", "leftover"),
            ("Calle 5 # 10-20 😀", "Calle 5 # 10 - 20 😀", "leftover"),
            (
                "calle 5 # 10-20 y carrera 7 # 8-9",
                "Calle 5 # 10 - 20 y Carrera 7 # 8-9",
                "leftover",
            ),
            ("Calle 5 # 10-20 frente al parque", "Calle 5 # 10 - 20 Frente al Parque", "leftover"),
            ("Cra 15 # 100 - 25 T2", "Cra. 15 # 100 - 25 T2", "leftover"),
            ("calle 8 # 530", "Calle 8 # 530", "partial"),
            ("CALLE 45", "Calle 45", "partial"),
            ("Calle 2023 # 10-20", "Calle 2023 # 10 - 20", "partial"),
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
        """A confident outcome starts with a street type, number and full plate, and is stable."""
        outcome = assess_address(raw)
        if outcome.confident and outcome.value:
            assert _CONFIDENT_HEAD.match(outcome.value), outcome.value
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
