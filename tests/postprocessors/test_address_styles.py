import csv
import doctest
import itertools
import json
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import llm_normalize.postprocessors.address_styles
from llm_normalize.exceptions import ConfigurationError
from llm_normalize.guard import Guard
from llm_normalize.postprocessors import _address_lexicon
from llm_normalize.postprocessors._address_lexicon import (
    COMPLEMENTS,
    NUMBER_MARKERS,
    STREET_TYPES,
    Keyword,
    fuzzy_street_type,
)
from llm_normalize.postprocessors._address_parser import parse
from llm_normalize.postprocessors.address import (
    ADDRESS_STYLES,
    DEFAULT_ADDRESS_STYLE,
    AddressStyle,
    assess_address,
    make_address_normalizer,
    normalize_address,
)
from llm_normalize.postprocessors.address_styles import (
    COMPLEMENT_SPELLINGS,
    STREET_TYPE_SPELLINGS,
    _styled_piece,
    _styled_recognised,
    check_address_style,
    read_address,
    restyle,
)
from llm_normalize.postprocessors.base import Outcome, assess
from llm_normalize.postprocessors.text import clean_text
from llm_normalize.profiles.colombia import COLOMBIAN_LEADS, address_spec, default_registry
from strategies import (
    address_abbreviations,
    address_words,
    messy_addresses,
    text_or_form,
)

LEADS = Path(__file__).resolve().parents[2] / "examples" / "leads.jsonl"
CORPUS = Path(__file__).resolve().parents[1] / "data" / "address_corpus.tsv"
STYLES: tuple[AddressStyle, ...] = ("abbreviated", "full", "code")

_DIGIT_RUN = re.compile(r"\d+")
_LETTER_RUN = re.compile(r"[^\W\d_]+")
# Words a style may write in its own spelling: the lexicon's keywords and number markers, and
# every spelling of the style tables (the codes read back among them).
_VOCABULARY = (
    set(STREET_TYPES)
    | set(COMPLEMENTS)
    | NUMBER_MARKERS
    | {
        run.casefold()
        for table in (STREET_TYPE_SPELLINGS, COMPLEMENT_SPELLINGS)
        for spellings in table.values()
        for spelling in spellings
        for run in _LETTER_RUN.findall(spelling)
    }
    | {"crv", "aut", "vrd"}
)

_SUFFIX = r"[^\W\d_]?( Bis( [^\W\d_])?)?( (Sur|Este|Norte|Oeste|Oriente|Occidente))?"
_CODE_SUFFIX = r"[^\W\d_]?( BIS( [^\W\d_])?)?( (SUR|ESTE|NORTE|OESTE|ORIENTE|OCCIDENTE))?"
# The head of a confident address in each style.
CONFIDENT_HEAD = {
    "abbreviated": re.compile(
        rf"(Cl\.|Cra\.|Av\.|Ac\.|Ak\.|Dg\.|Tr\.|Cir\.|Circunv\.|Autop\.|Vía|Via) \d{{1,3}}{_SUFFIX}"
        rf" # \d{{1,3}}{_SUFFIX} - \d{{1,3}}"
    ),
    "full": re.compile(
        r"(Calle|Carrera|Avenida|Avenida Calle|Avenida Carrera|Diagonal|Transversal|Circular"
        rf"|Circunvalar|Autopista|Vía|Via) \d{{1,3}}{_SUFFIX} # \d{{1,3}}{_SUFFIX} - \d{{1,3}}"
    ),
    "code": re.compile(
        rf"(CL|KR|AV|AC|AK|DG|TV|CIR|CCV|AUTOP|VÍA|VIA) \d{{1,3}}{_CODE_SUFFIX}"
        rf" \d{{1,3}}{_CODE_SUFFIX} \d{{1,3}}[^\W\d_]?( (SUR|ESTE|NORTE|OESTE))?( |$)"
    ),
}


def digit_runs(text: str) -> list[str]:
    return _DIGIT_RUN.findall(text)


def key(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def assert_letters_kept(raw: str, out: str) -> None:
    """Every letter run typed, other than a keyword or code, is in the output, in order."""
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


class TestStyles:
    @pytest.mark.parametrize(
        ("raw", "abbreviated", "full", "code"),
        [
            (
                "calle 45 a bis sur # 12-30",
                "Cl. 45A Bis Sur # 12 - 30",
                "Calle 45A Bis Sur # 12 - 30",
                "CL 45A BIS SUR 12 30",
            ),
            ("CRA 15 NO 100 25", "Cra. 15 # 100 - 25", "Carrera 15 # 100 - 25", "KR 15 100 25"),
            ("avda 19 # 100-20", "Av. 19 # 100 - 20", "Avenida 19 # 100 - 20", "AV 19 100 20"),
            (
                "Avenida Calle 2 SUR Nro 26B-39.",
                "Ac. 2 Sur # 26B - 39",
                "Avenida Calle 2 Sur # 26B - 39",
                "AC 2 SUR 26B 39",
            ),
            (
                "Av. Cra 68 #22 - 47",
                "Ak. 68 # 22 - 47",
                "Avenida Carrera 68 # 22 - 47",
                "AK 68 22 47",
            ),
            (
                "Dg 8 bis A # 122C 17",
                "Dg. 8 Bis A # 122C - 17",
                "Diagonal 8 Bis A # 122C - 17",
                "DG 8 BIS A 122C 17",
            ),
            (
                "TV 12 C BIS A NO 116C-6 - OF 804",
                "Tr. 12C Bis A # 116C - 6 Of. 804",
                "Transversal 12C Bis A # 116C - 6 Oficina 804",
                "TV 12C BIS A 116C 6 OF 804",
            ),
            (
                "CQ 14 SUR Nro 140 43",
                "Cir. 14 Sur # 140 - 43",
                "Circular 14 Sur # 140 - 43",
                "CIR 14 SUR 140 43",
            ),
            (
                "circunvalar 5 # 1-20",
                "Circunv. 5 # 1 - 20",
                "Circunvalar 5 # 1 - 20",
                "CCV 5 1 20",
            ),
            (
                "autopista 45 # 20-10",
                "Autop. 45 # 20 - 10",
                "Autopista 45 # 20 - 10",
                "AUTOP 45 20 10",
            ),
            ("Vía 40 # 73-290", "Vía 40 # 73 - 290", "Vía 40 # 73 - 290", "VÍA 40 73 290"),
            (
                "calle 38 a bis sur # 3A-18 este",
                "Cl. 38A Bis Sur # 3A - 18 Este",
                "Calle 38A Bis Sur # 3A - 18 Este",
                "CL 38A BIS SUR 3A 18 ESTE",
            ),
            (
                "CALLE 17 # 61 - 01 TORRE 5 APTO 1203",
                "Cl. 17 # 61 - 01 Torre 5 Apto. 1203",
                "Calle 17 # 61 - 01 Torre 5 Apartamento 1203",
                "CL 17 61 01 TO 5 APTO 1203",
            ),
            (
                "calle 5 # 10-20 mz 3 cs 14 int 2 piso 3 etapa II bodega 4",
                "Cl. 5 # 10 - 20 Mz. 3 Casa 14 Int. 2 Piso 3 Etapa II Bodega 4",
                "Calle 5 # 10 - 20 Manzana 3 Casa 14 Interior 2 Piso 3 Etapa II Bodega 4",
                "CL 5 10 20 MZ 3 CA 14 IN 2 PI 3 ET II BG 4",
            ),
            (
                "Cl 12 # 7-32 Edif. Avianca Local 1-12 bloque 4",
                "Cl. 12 # 7 - 32 Edificio Avianca Local 1-12 Bloque 4",
                "Calle 12 # 7 - 32 Edificio Avianca Local 1-12 Bloque 4",
                "CL 12 7 32 ED AVIANCA LC 1-12 BL 4",
            ),
            (
                "Calle 5 Norte # 10-20 Barrio San José de la Montaña",
                "Cl. 5 Norte # 10 - 20 Barrio San José de la Montaña",
                "Calle 5 Norte # 10 - 20 Barrio San José de la Montaña",
                "CL 5 NORTE 10 20 BR SAN JOSÉ DE LA MONTAÑA",
            ),
            (
                "Kilómetro 3 vía al mar",
                "Km 3 Vía al Mar",
                "Kilómetro 3 Vía al Mar",
                "KM 3 VÍA AL MAR",
            ),
            (
                "vda la palma sector 3 lote 18",
                "Vereda La Palma Sector 3 Lote 18",
                "Vereda La Palma Sector 3 Lote 18",
                "VDA LA PALMA SEC 3 LT 18",
            ),
            (
                "Calle 45 # 13-23, Bogotá D.C.",
                "Cl. 45 # 13 - 23, Bogotá D.C.",
                "Calle 45 # 13 - 23, Bogotá D.C.",
                "CL 45 13 23, BOGOTÁ D.C.",
            ),
        ],
    )
    def test_examples(self, raw: str, abbreviated: str, full: str, code: str) -> None:
        """Each style writes the street type, the plate and the complements its own way."""
        legacy = assess_address(raw, "legacy")
        for style, expected in zip(STYLES, (abbreviated, full, code), strict=True):
            outcome = assess_address(raw, style)
            assert outcome == Outcome(expected, legacy.confident, legacy.reason), style

    def test_the_seed_style_is_the_default(self) -> None:
        """normalize_address, its twin and default_registry write the seed's abbreviations."""
        raw = "CALLE 157 SUR NO 48-35 APTO 301"
        assert DEFAULT_ADDRESS_STYLE == "abbreviated" == ADDRESS_STYLES[0]
        assert normalize_address(raw) == "Cl. 157 Sur # 48 - 35 Apto. 301"
        assert assess(normalize_address, raw) == assess_address(raw, "abbreviated")
        assert default_registry.apply("direccion", raw) == "Cl. 157 Sur # 48 - 35 Apto. 301"
        assert COLOMBIAN_LEADS["direccion"].chain == (normalize_address,)

    def test_legacy_is_the_canonical_form(self) -> None:
        """The legacy style is the grammar's own rendering, the output of earlier versions."""
        for raw in ("CALLE 157 SUR NO 48-35", "Av. Cra 68 #22 - 47", "tv 5 # 3-2 int 1"):
            assert normalize_address(raw, "legacy") == parse(clean_text(raw)).render()
        assert normalize_address("dg 5 # 3-2", "legacy") == "Diagonal 5 # 3 - 2"

    def test_confidence_does_not_depend_on_the_style(self) -> None:
        """A style changes spellings only: confidence and reason stay those of the grammar."""
        for raw in ("Av Boyacá # 12-30", "calle 8 # 530", "Mz 5 Casa 3", "Km 5 vía al mar"):
            outcomes = [assess_address(raw, style) for style in ADDRESS_STYLES]
            assert len({(o.confident, o.reason) for o in outcomes}) == 1, raw

    @pytest.mark.parametrize("style", ["Code", "short", "", None, 3])
    def test_unknown_style_is_refused(self, style: object) -> None:
        """An unknown style is a ConfigurationError that lists the styles."""
        with pytest.raises(ConfigurationError, match="abbreviated, full, code, legacy"):
            normalize_address("Calle 5", style)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError):
            check_address_style(style)

    def test_empty(self) -> None:
        """Empty input is empty in every style."""
        for style in ADDRESS_STYLES:
            assert assess_address("  ", style) == Outcome("", confident=True, reason="empty")


class TestCodeStyle:
    def test_named_street_keeps_its_plate_mark(self) -> None:
        """After a named street the plate keeps its '#', so that it still reads as the plate."""
        assert normalize_address("Av Boyacá # 12-30", "code") == "AV BOYACÁ # 12 30"
        assert normalize_address("calle # 5", "code") == "CL # 5"

    def test_a_code_that_would_not_read_back_is_written_out(self) -> None:
        """Where the grammar would not expand a short code, the code style writes the word."""
        assert normalize_address("Calle 5 # 10-20 Edificio X", "code") == "CL 5 10 20 EDIFICIO X"
        assert normalize_address("bloque 5 casa 3", "code") == "BLOQUE 5 CA 3"
        assert normalize_address("Calle 5 # 10-20 bloque 5", "code") == "CL 5 10 20 BL 5"

    def test_letters_without_a_case_pair_are_kept(self) -> None:
        """Capitals are written only where lower-casing gives the same letter back."""
        assert normalize_address("Calle 5 # 10-20 Barrio Straße", "code") == "CL 5 10 20 BR STRAßE"


class TestCodesAreRead:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            (
                "CL 5 10 20 IN 2 TO 3 CA 4 PI 5 ET 2 BG 1",
                "Cl. 5 # 10 - 20 Int. 2 Torre 3 Casa 4 Piso 5 Etapa 2 Bodega 1",
            ),
            ("KR 7 45 12 TO B APTO 501", "Cra. 7 # 45 - 12 Torre B Apto. 501"),
            ("Calle 5 # 10-20 in. 2", "Cl. 5 # 10 - 20 Int. 2"),
            ("CCV 5 1 20", "Circunv. 5 # 1 - 20"),
            ("CRV 5 1 20", "Circunv. 5 # 1 - 20"),
            ("AUT 45 20 10", "Autop. 45 # 20 - 10"),
            ("CL 5 10 20 URB LOS PINOS CA 3", "Cl. 5 # 10 - 20 Urbanización Los Pinos Casa 3"),
        ],
    )
    def test_codes(self, raw: str, expected: str) -> None:
        """The cadastral and DIAN codes the lexicon misses are read as their keywords."""
        assert assess_address(raw) == Outcome(expected, confident=True, reason="parsed")

    def test_vereda_code(self) -> None:
        """The DIAN's VRD is a Vereda."""
        assert normalize_address("VRD EL SALITRE") == "Vereda El Salitre"

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            # Not before a value, or glued to a number: a word like any other.
            ("Calle 5 # 10-20 in situ", "Cl. 5 # 10 - 20 In Situ"),
            ("Calle 5 # 10-20 To", "Cl. 5 # 10 - 20 To"),
            ("Calle 5 # 10-20 30CA 4", "Cl. 5 # 10 - 20 30Ca 4"),
            # A street type's code only as the first word, before a number.
            ("Calle 5 # 10-20 ccv 5", "Cl. 5 # 10 - 20 Ccv 5"),
            ("CCV La Luna", "Ccv La Luna"),
            # Where the keyword would more than double what was typed, as the grammar does.
            ("URB X", "Urb X"),
        ],
    )
    def test_codes_only_where_their_keyword_stands(self, raw: str, expected: str) -> None:
        """A code elsewhere stays the word it was typed as."""
        assert normalize_address(raw) == expected

    def test_read_address_without_codes_is_the_grammar(self) -> None:
        """Without a code to read, read_address is the grammar's parse."""
        text = "Calle 5 # 10-20 Torre 2"
        assert read_address(text) == parse(text)


class TestUnknownSpellings:
    def test_a_keyword_the_tables_do_not_know_passes_through(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A street type or complement added to the lexicon later is written as the grammar writes it."""
        monkeypatch.setitem(_address_lexicon.STREET_TYPES, "pasaje", "Pasaje")
        monkeypatch.setitem(
            _address_lexicon.COMPLEMENTS, "parqueadero", Keyword("Parqueadero", "number")
        )
        raw = "pasaje 5 # 1-2 parqueadero 3 apto 4"
        assert normalize_address(raw, "legacy") == "Pasaje 5 # 1 - 2 Parqueadero 3 Apto. 4"
        assert normalize_address(raw) == "Pasaje 5 # 1 - 2 Parqueadero 3 Apto. 4"
        assert normalize_address(raw, "full") == "Pasaje 5 # 1 - 2 Parqueadero 3 Apartamento 4"
        assert normalize_address(raw, "code") == "Pasaje 5 # 1 - 2 Parqueadero 3 APTO 4"
        for style in ADDRESS_STYLES:
            out = normalize_address(raw, style)
            assert normalize_address(out, style) == out

    def test_every_canonical_spelling_of_today_has_a_style(self) -> None:
        """The tables cover every canonical spelling the lexicon writes."""
        types = set(STREET_TYPES.values()) | set(_address_lexicon.AVENUE_KINDS.values())
        assert {"Calle", "Cra.", "Av. Calle", "Diagonal", "Vía"} <= types
        assert types <= set(STREET_TYPE_SPELLINGS)
        keywords = {keyword.canonical for keyword in COMPLEMENTS.values()}
        assert keywords <= set(COMPLEMENT_SPELLINGS)


class TestFactory:
    def test_one_function_per_style(self) -> None:
        """make_address_normalizer gives normalize_address for the default, one function per style."""
        assert make_address_normalizer() is normalize_address
        assert make_address_normalizer("code") is make_address_normalizer("code")
        code = make_address_normalizer("code")
        assert code("CRA 15 NO 100 25") == "KR 15 100 25"
        assert assess(code, "Av Boyacá # 12-30") == assess_address("Av Boyacá # 12-30", "code")
        assert code.__name__ == "normalize_address_code"
        assert code.__doc__

    def test_legacy_is_deprecated(self) -> None:
        """Selecting the legacy style warns that it is deprecated, and still works."""
        with pytest.warns(DeprecationWarning, match="'legacy' address style is deprecated"):
            legacy = make_address_normalizer("legacy")
        assert legacy("dg 5 # 3-2") == "Diagonal 5 # 3 - 2"

    def test_unknown_style(self) -> None:
        """An unknown style is refused when the post-processor is made."""
        with pytest.raises(ConfigurationError, match="unknown address style"):
            make_address_normalizer("catastral")  # type: ignore[arg-type]


def test_doctests() -> None:
    """The examples in the docstrings of the styles are right."""
    assert doctest.testmod(llm_normalize.postprocessors.address_styles).failed == 0
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    for test in finder.find(make_address_normalizer) + finder.find(address_spec):
        runner.run(test)
    assert runner.failures == 0


_texts = st.one_of(text_or_form, address_words, address_abbreviations)
_styles = st.sampled_from(ADDRESS_STYLES)


class TestProperties:
    @given(_texts, _styles)
    def test_idempotent(self, raw: str, style: AddressStyle) -> None:
        """Normalizing an output again, in its style, gives it back."""
        once = normalize_address(raw, style)
        assert normalize_address(once, style) == once

    @given(st.one_of(_texts, messy_addresses.map(lambda pair: pair[0])), _styles, _styles)
    def test_styles_round_trip(self, raw: str, first: AddressStyle, other: AddressStyle) -> None:
        """An output converted to another style and back is the output again."""
        out = normalize_address(raw, first)
        assert normalize_address(normalize_address(out, other), first) == out

    @given(_texts, _styles)
    def test_lossless_and_bounded(self, raw: str, style: AddressStyle) -> None:
        """Every style keeps the digit runs and the typed words; only full words grow more."""
        out = normalize_address(raw, style)
        cleaned = clean_text(raw)
        assert digit_runs(out) == digit_runs(cleaned)
        assert_letters_kept(raw, out)
        factor = 4 if style == "full" else 2
        assert len(out) <= factor * len(cleaned) + 16

    @given(_texts, _styles)
    def test_same_confidence_in_every_style(self, raw: str, style: AddressStyle) -> None:
        """The confidence and reason of a value are the grammar's, whatever the style."""
        styled, legacy = assess_address(raw, style), assess_address(raw, "legacy")
        assert (styled.confident, styled.reason) == (legacy.confident, legacy.reason)

    @given(messy_addresses, st.sampled_from(STYLES))
    def test_messy_addresses_reach_each_style(
        self, pair: tuple[str, str], style: AddressStyle
    ) -> None:
        """A well-formed address typed any which way is written in the style, confidently."""
        messy, _ = pair
        outcome = assess_address(messy, style)
        assert outcome.confident
        assert CONFIDENT_HEAD[style].match(outcome.value), outcome.value
        if style == "code":
            assert outcome.value == outcome.value.upper()
            assert "#" not in outcome.value
            assert " - " not in outcome.value


class TestLeadsSample:
    """The distinct `direccion` values of examples/leads.jsonl, in every style."""

    def test_idempotent_lossless_and_styled(self) -> None:
        """Every sample address is a fixed point in its style, keeps its digits and letters,
        and every confident one is written in the style."""
        for raw in sample_addresses():
            for style in STYLES:
                outcome = assess_address(raw, style)
                out = outcome.value
                assert normalize_address(out, style) == out, (raw, style)
                assert digit_runs(out) == digit_runs(clean_text(raw)), (raw, style)
                assert_letters_kept(raw, out)
                if outcome.confident:
                    assert CONFIDENT_HEAD[style].match(out), (raw, style, out)

    def test_abbreviated_and_full_outputs_pass_the_guard(self) -> None:
        """The guard accepts what the abbreviated and full styles write, as it does the legacy one."""
        guard, spec = Guard(), COLOMBIAN_LEADS["direccion"]
        for raw in sample_addresses():
            for style in ("abbreviated", "full", "legacy"):
                verdict = guard.check(spec, raw, normalize_address(raw, style))
                assert verdict.ok or verdict.reason == "too_long", (raw, style)

    def test_code_outputs_pass_the_guard_but_for_codes_it_misses(self) -> None:
        """The guard accepts the code style's output, except where it does not know a code.

        The guard reads ``CA`` (Casa) and ``PI`` (Piso) as words, not as the keywords the raw
        value has, and refuses them as ``not_typed``; nothing else is refused.
        """
        guard, spec = Guard(), COLOMBIAN_LEADS["direccion"]
        for raw in sample_addresses():
            out = normalize_address(raw, "code")
            verdict = guard.check(spec, raw, out)
            if verdict.ok or verdict.reason == "too_long":
                continue
            assert verdict.reason == "not_typed", (raw, out)
            assert {"CA", "PI", "BG", "CCV"} & set(out.split()), (raw, out)


def corpus_addresses() -> list[str]:
    with CORPUS.open(encoding="utf-8", newline="") as lines:
        reader = csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [row["raw"] for row in reader]


def read_back(raw: str, style: AddressStyle) -> Outcome:
    """`assess_address` reading every rendering back, the way it did before issue 16.

    The rendering is parsed again until it reads as itself (three times at most), and the
    styled value is read back whole; `assess_address` does both for unsure values only.
    """
    text = clean_text(raw)
    if not text:
        return Outcome("", confident=True, reason="empty")
    parsed = read_address(text)
    out = parsed.render()
    fixed = None
    for _ in range(3):
        if clean_text(out) != out:
            return Outcome(text, confident=False, reason="unstable")
        again = read_address(out)
        if again.render() == out:
            fixed = again
            break
        parsed, out = again, again.render()
    outcome = Outcome(out, confident=parsed.reason == "parsed", reason=parsed.reason)
    return restyle(outcome, style, reading=fixed, check=True)


_ZEROS = str.maketrans("123456789", "000000000")


class TestOneParse:
    """A confident value is parsed once; reading it back would change nothing."""

    def test_corpus_and_sample_as_read_back(self) -> None:
        """Every corpus and sample address, in every style, is what reading back gives."""
        for raw in corpus_addresses() + sample_addresses():
            for style in ADDRESS_STYLES:
                assert assess_address(raw, style) == read_back(raw, style), (raw, style)

    @given(st.one_of(_texts, messy_addresses.map(lambda pair: pair[0])), _styles)
    def test_as_read_back(self, raw: str, style: AddressStyle) -> None:
        """Any value, in any style, is what reading every rendering back gives."""
        assert assess_address(raw, style) == read_back(raw, style)

    @given(st.one_of(_texts, messy_addresses.map(lambda pair: pair[0])))
    def test_digits_are_read_by_their_length(self, raw: str) -> None:
        """Digits as 0s parse as the digits typed: what styling pieces by shape relies on."""
        text = clean_text(raw)
        parsed = read_address(text)
        shaped = read_address(text.translate(_ZEROS))
        assert shaped.render() == parsed.render().translate(_ZEROS)
        assert shaped.reason == parsed.reason

    def test_pieces_styled_by_their_shape(self) -> None:
        """A piece styled by its shape, its digits put back, is the piece styled as it is."""
        for raw in corpus_addresses() + sample_addresses():
            for piece in read_address(clean_text(raw)).pieces:
                if not piece.recognised:
                    continue
                for style, first, last in itertools.product(STYLES, (True, False), (True, False)):
                    direct = _styled_recognised.__wrapped__(piece.text, style, first, last)
                    assert _styled_piece(piece, style, first=first, last=last) == direct
