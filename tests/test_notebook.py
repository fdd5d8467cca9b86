import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from llm_normalize import NormalizationConfig, Normalizer, display
from llm_normalize.backends import FakeBackend
from llm_normalize.exceptions import ConfigurationError
from llm_normalize.notebook import (
    Html,
    frame_diff_html,
    normalize_dataframe,
    record_html,
    records_html,
    report_html,
)
from llm_normalize.records import NormalizedRecord

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SAMPLE = EXAMPLES / "leads.jsonl"
NOTEBOOK = EXAMPLES / "normalize_leads.ipynb"


@pytest.fixture
def pd() -> Any:
    return pytest.importorskip("pandas")


@pytest.fixture
def leads(pd: Any) -> Any:
    return pd.read_json(SAMPLE, lines=True, dtype=False)


class TestNormalizeDataframe:
    def test_new_frame_input_untouched(self, leads: Any) -> None:
        """The input DataFrame is never modified, and a new one comes back."""
        frame = leads.head(50)
        before = frame.copy()
        out = normalize_dataframe(frame, progress=False)
        assert out is not frame
        assert frame.equals(before)
        assert list(frame.columns) == list(before.columns)
        out.loc[out.index[0], "nombres"] = "changed"
        assert frame.equals(before)

    def test_columns_follow_their_field(self, pd: Any) -> None:
        """Each normalized column is followed by its _normalized, _source and _flags columns."""
        frame = pd.DataFrame({"leadId": ["1"], "nombres": ["JUAN"], "telefono": ["300"]})
        out = normalize_dataframe(frame, progress=False)
        assert list(out.columns) == [
            "leadId",
            "nombres",
            "nombres_normalized",
            "nombres_source",
            "nombres_flags",
            "telefono",
        ]

    def test_values_sources_and_flags(self, pd: Any) -> None:
        """Values are normalized by the rules, unsure ones flagged, flags joined as text."""
        frame = pd.DataFrame(
            {
                "nombres": ["JUAN CARLOS", "maria  jose"],
                "ciudad": ["bogota", "MEDELLIN"],
                "ocupacionActual": ["Ing. Sistemas", "xyzzy plomero raro"],
            }
        )
        out = normalize_dataframe(frame, progress=False)
        assert out["nombres_normalized"].tolist() == ["Juan Carlos", "Maria Jose"]
        assert out["ciudad_normalized"].tolist() == ["Bogotá D.C.", "Medellín"]
        assert out["ocupacionActual_normalized"].tolist() == [
            "Ingeniero de Sistemas",
            "Xyzzy Plomero Raro",
        ]
        assert out["ciudad_source"].tolist() == ["rules", "rules"]
        assert out["ocupacionActual_flags"].tolist() == ["", "not_confident"]

    def test_missing_values(self, pd: Any) -> None:
        """None, NaN and pd.NA are empty: no normalized value, no flag."""
        frame = pd.DataFrame(
            {
                "nombres": pd.array(["ANA", pd.NA, None], dtype="string"),
                "ciudad": [None, float("nan"), "cali"],
            }
        )
        out = normalize_dataframe(frame, progress=False)
        assert out["nombres_normalized"].iloc[0] == "Ana"
        assert out["nombres_normalized"].iloc[1:].isna().all()
        assert out["ciudad_normalized"].iloc[:2].isna().all()
        assert out["ciudad_normalized"].iloc[2] == "Cali"
        assert out["nombres_flags"].tolist() == ["", "", ""]

    def test_whole_floats_are_integers(self, pd: Any) -> None:
        """A number pandas stored as a float because of a gap does not gain a '.0'."""
        frame = pd.DataFrame({"empresa": [3001234567, None]})
        assert frame["empresa"].dtype == "float64"
        out = normalize_dataframe(frame, progress=False)
        assert out["empresa_normalized"].iloc[0] == "3001234567"

    def test_index_is_kept(self, pd: Any) -> None:
        """The result has the input's index, in order."""
        frame = pd.DataFrame({"ciudad": ["cali", "bogota"]}, index=["z", "a"])
        out = normalize_dataframe(frame, progress=False)
        assert out.index.tolist() == ["z", "a"]
        assert out.loc["a", "ciudad_normalized"] == "Bogotá D.C."

    def test_without_meta(self, pd: Any) -> None:
        """include_meta=False adds only the _normalized columns."""
        frame = pd.DataFrame({"ciudad": ["cali"], "nombres": ["ANA"]})
        out = normalize_dataframe(frame, progress=False, include_meta=False)
        assert list(out.columns) == ["ciudad", "ciudad_normalized", "nombres", "nombres_normalized"]

    def test_explicit_fields(self, pd: Any) -> None:
        """Only the named fields are normalized; a single name may be a string."""
        frame = pd.DataFrame({"ciudad": ["cali"], "nombres": ["ANA"]})
        out = normalize_dataframe(frame, ["nombres"], progress=False)
        assert "ciudad_normalized" not in out.columns
        assert out["nombres_normalized"].tolist() == ["Ana"]
        out = normalize_dataframe(frame, "ciudad", progress=False)
        assert "nombres_normalized" not in out.columns

    def test_rerun_replaces_columns(self, pd: Any) -> None:
        """Normalizing a result again replaces its _normalized columns, never duplicates them."""
        frame = pd.DataFrame({"ciudad": ["cali"]})
        once = normalize_dataframe(frame, progress=False)
        twice = normalize_dataframe(once, progress=False)
        assert list(twice.columns) == list(once.columns)
        assert twice.equals(once)

    def test_backend_decides_unsure_values(self, pd: Any) -> None:
        """With a backend, values the rules were unsure of are decided by the model."""
        frame = pd.DataFrame({"ocupacionActual": ["xyzzy plomero raro", "Ingeniero"]})
        backend = FakeBackend()
        out = normalize_dataframe(frame, backend=backend, progress=False)
        assert out["ocupacionActual_source"].tolist() == ["llm", "rules"]
        assert backend.calls == 1

    def test_own_normalizer_keeps_report(self, leads: Any) -> None:
        """A normalizer passed in does the work, and its last_report covers the frame."""
        normalizer = Normalizer()
        normalize_dataframe(leads.head(30), normalizer=normalizer, progress=False)
        assert normalizer.last_report is not None
        assert normalizer.last_report.records_in == 30
        assert normalizer.last_report.fields_normalized == 30 * 7

    def test_normalizer_fields_default_to_its_config(self, pd: Any) -> None:
        """With a normalizer, the default fields are its configured fields present in the frame."""
        normalizer = Normalizer(config=NormalizationConfig(fields_to_normalize=("ciudad",)))
        frame = pd.DataFrame({"ciudad": ["cali"], "nombres": ["ANA"]})
        out = normalize_dataframe(frame, normalizer=normalizer, progress=False)
        assert "nombres_normalized" not in out.columns
        assert out["ciudad_normalized"].tolist() == ["Cali"]

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"fields": ["ciudad", "nope"]}, "not columns of the DataFrame: nope"),
            ({"fields": []}, "fields is empty"),
            ({"id_column": "missing"}, "id_column 'missing'"),
            (
                {"normalizer": Normalizer(), "backend": FakeBackend()},
                "either backend or normalizer",
            ),
            (
                {"normalizer": Normalizer(), "id_column": "ciudad"},
                "differs from the normalizer's id_field",
            ),
            (
                {
                    "normalizer": Normalizer(
                        config=NormalizationConfig(fields_to_normalize=("nombres",))
                    ),
                    "fields": ["ciudad"],
                },
                "not configured for: ciudad",
            ),
        ],
    )
    def test_bad_arguments(self, pd: Any, kwargs: dict[str, Any], message: str) -> None:
        """Contradictory or unknown arguments raise ConfigurationError naming the problem."""
        frame = pd.DataFrame({"ciudad": ["cali"]})
        with pytest.raises(ConfigurationError, match=message):
            normalize_dataframe(frame, progress=False, **kwargs)

    def test_no_known_column(self, pd: Any) -> None:
        """A frame with no profile field asks for fields=[...]."""
        with pytest.raises(ConfigurationError, match=r"pass fields=\[\.\.\.\]"):
            normalize_dataframe(pd.DataFrame({"x": [1]}), progress=False)

    def test_not_a_dataframe(self) -> None:
        """Anything but a DataFrame is refused."""
        pytest.importorskip("pandas")
        with pytest.raises(
            ConfigurationError, match=r"expects a pandas or polars DataFrame, got builtins\.list"
        ):
            normalize_dataframe([{"ciudad": "cali"}], progress=False)  # type: ignore[call-overload]

    def test_duplicate_columns(self, pd: Any) -> None:
        """Duplicate column names are refused rather than guessed."""
        frame = pd.DataFrame([["cali", "bogota"]], columns=["ciudad", "ciudad"])
        with pytest.raises(ConfigurationError, match="duplicate column names"):
            normalize_dataframe(frame, progress=False)

    def test_pandas_missing(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without pandas, the error says which extra to install."""
        monkeypatch.setitem(sys.modules, "pandas", None)
        with pytest.raises(ConfigurationError, match=r"pip install 'llm-normalize\[notebook\]'"):
            normalize_dataframe(object(), progress=False)  # type: ignore[call-overload]

    def test_import_does_not_load_pandas(self) -> None:
        """`import llm_normalize` (and its notebook module) never imports pandas or tqdm."""
        code = (
            "import sys, llm_normalize, llm_normalize.notebook\n"
            "assert 'pandas' not in sys.modules, 'pandas'\n"
            "assert 'tqdm' not in sys.modules, 'tqdm'\n"
        )
        subprocess.run([sys.executable, "-c", code], check=True)


class _Spy(Normalizer):
    """A normalizer that measures how far its input is read ahead of its output."""

    ahead = 0

    def iter_normalize(
        self, records: Iterable[Mapping[str, Any]], **options: Any
    ) -> Iterator[NormalizedRecord]:
        pulled = 0
        yielded = 0

        def counting() -> Iterator[Mapping[str, Any]]:
            nonlocal pulled
            for record in records:
                pulled += 1
                self.ahead = max(self.ahead, pulled - yielded)
                yield record

        for result in super().iter_normalize(counting(), **options):
            yielded += 1
            yield result


class TestLargeFrames:
    def test_twenty_thousand_rows_streamed(self, pd: Any, leads: Any) -> None:
        """20k rows are normalized quickly, read a chunk at a time, never all at once."""
        big = pd.concat([leads] * 10, ignore_index=True)
        assert len(big) == 20_000
        normalizer = _Spy(chunk_size=500)
        started = time.monotonic()
        out = normalize_dataframe(big, normalizer=normalizer, progress=False)
        elapsed = time.monotonic() - started
        assert len(out) == 20_000
        assert out["ciudad_normalized"].notna().sum() > 19_000
        assert normalizer.ahead <= 500
        # About 2-3 s on a laptop (100k rows: about 8 s); the bound only catches a blow-up.
        assert elapsed < 60


class TestProgress:
    def test_off_when_not_attached(self, pd: Any, capsys: pytest.CaptureFixture[str]) -> None:
        """Under pytest (no terminal, no notebook) there is no bar by default."""
        normalize_dataframe(pd.DataFrame({"ciudad": ["cali"]}))
        assert "normalizing" not in capsys.readouterr().err

    def test_forced_on(self, pd: Any, capsys: pytest.CaptureFixture[str]) -> None:
        """progress=True shows a bar with the row count."""
        normalize_dataframe(pd.DataFrame({"ciudad": ["cali"] * 3}), progress=True)
        err = capsys.readouterr().err
        assert "normalizing" in err
        assert "3/3" in err

    def test_on_in_a_terminal_unless_asked(
        self, pd: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Attached to a terminal the bar shows by default; progress=False hides it."""
        monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
        frame = pd.DataFrame({"ciudad": ["cali"]})
        normalize_dataframe(frame)
        assert "normalizing" in capsys.readouterr().err
        normalize_dataframe(frame, progress=False)
        assert "normalizing" not in capsys.readouterr().err


class TestHtml:
    def test_html_helpers_are_displays(self) -> None:
        """The HTML helpers of the notebook module are those of llm_normalize.display."""
        assert (Html, record_html, records_html, report_html) == (
            display.Html,
            display.record_html,
            display.records_html,
            display.report_html,
        )

    def test_frame_diff(self, leads: Any) -> None:
        """A normalize_dataframe result renders as a diff of its changed rows."""
        out = normalize_dataframe(leads.head(40), progress=False)
        html = frame_diff_html(out, limit=5)
        assert html.count("<tr") == 1 + 5
        assert "5 changed or flagged rows shown, of 40 rows" in html
        assert "&rarr;" in html
        everything = frame_diff_html(out, ["ciudad"], limit=None, changed_only=False)
        assert everything.count("<tr") == 1 + 40


def test_example_notebook_runs() -> None:
    """examples/normalize_leads.ipynb runs end to end, offline, in a real kernel."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("pandas")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(EXAMPLES)}},
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o.data["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("&rarr;" in h for h in html)
