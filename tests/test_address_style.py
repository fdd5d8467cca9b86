"""The address style as a setting: the profile, the config, the normalizer, the job and the CLI."""

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from llm_normalize import NormalizationConfig, Normalizer, PostProcessorRegistry
from llm_normalize.backends.fake import FakeBackend
from llm_normalize.cli import main
from llm_normalize.exceptions import ConfigurationError
from llm_normalize.postprocessors.address import (
    ADDRESS_STYLES,
    AddressStyle,
    make_address_normalizer,
    normalize_address,
)
from llm_normalize.profiles.colombia import (
    COLOMBIAN_LEADS,
    address_spec,
    colombian_leads,
    default_registry,
    default_registry_for,
)
from llm_normalize.prompt import Item, PromptBuilder
from llm_normalize.stores import open_store
from llm_normalize.stores.memory import MemoryLeadStore
from llm_normalize.stores.sqlite import SQLiteLeadStore

RAW = "CALLE 45 A BIS SUR NO 12-30 APTO 301"
WRITTEN: dict[AddressStyle, str] = {
    "abbreviated": "Cl. 45A Bis Sur # 12 - 30 Apto. 301",
    "full": "Calle 45A Bis Sur # 12 - 30 Apartamento 301",
    "code": "CL 45A BIS SUR 12 30 APTO 301",
    "legacy": "Calle 45A Bis Sur # 12 - 30 Apto. 301",
}
# Not confident (a named street): the model is asked about it.
UNSURE = "Av Boyacá # 12-30"


def lead(n: int, direccion: str = RAW) -> dict[str, Any]:
    return {"leadId": f"lead-{n}", "nombres": "JUAN", "direccion": direccion}


def saved_address(store: MemoryLeadStore, lead_id: str = "lead-0") -> Any:
    item = store.get(lead_id)
    assert item is not None
    return item["normalizedData"]["direccion"]


class TestProfile:
    @pytest.mark.parametrize("style", ["abbreviated", "full", "code"])
    def test_spec_follows_the_style(self, style: AddressStyle) -> None:
        """The direccion spec's chain, instructions and examples are those of its style."""
        spec = address_spec(style)
        assert spec.chain == (make_address_normalizer(style),)
        assert normalize_address("calle 45a bis sur 12 30", style) in spec.instructions
        for raw, written in spec.examples:
            assert normalize_address(raw, style) == written
        assert spec.kind == "address"
        assert spec.bands == COLOMBIAN_LEADS["direccion"].bands

    def test_code_spec_names_the_codes(self) -> None:
        """The code style's instructions list the codes and say: capitals, no '#' or '-'."""
        instructions = address_spec("code").instructions
        for code in ("CL", "KR", "AC (Avenida Calle)", "AK (Avenida Carrera)", "TV", "APTO", "IN"):
            assert code in instructions
        assert "no '#' or '-'" in instructions

    def test_default_spec_is_the_profile_s(self) -> None:
        """COLOMBIAN_LEADS holds the abbreviated spec, with normalize_address as its chain."""
        assert COLOMBIAN_LEADS["direccion"] is address_spec()
        assert address_spec().examples[1] == (
            "cl 25 sur no. 18-8 int 1",
            "Cl. 25 Sur # 18 - 8 Int. 1",
        )

    def test_legacy_spec_keeps_the_old_prompt(self) -> None:
        """The deprecated legacy spec is word for word what earlier versions told the model."""
        with pytest.warns(DeprecationWarning, match="legacy"):
            spec = address_spec("legacy")
        assert spec.instructions.startswith("A Colombian urban or rural address. Use the form ")
        assert "street types Calle, Cra., Av., Av. Calle, Av. Cra., Diagonal" in spec.instructions
        assert spec.examples == (
            ("CRA 15 NO 100 25", "Cra. 15 # 100 - 25"),
            ("cl 25 sur no. 18-8 int 1", "Calle 25 Sur # 18 - 8 Int. 1"),
        )

    def test_profile_and_registry_per_style(self) -> None:
        """Each style has one profile and one read-only registry; the default ones are the built-ins."""
        assert colombian_leads() is COLOMBIAN_LEADS
        assert default_registry_for() is default_registry
        code = colombian_leads("code")
        assert code is colombian_leads("code")
        assert code.names == COLOMBIAN_LEADS.names
        assert code["direccion"] is address_spec("code")
        assert code["nombres"] is COLOMBIAN_LEADS["nombres"]
        registry = default_registry_for("code")
        assert registry.read_only
        assert registry.apply("direccion", RAW) == WRITTEN["code"]
        assert registry.apply("nombres", "JUAN") == "Juan"

    def test_prompt_follows_the_style(self) -> None:
        """The prompt shows the style's form and examples, and its version differs per style."""
        item = [Item("0", "direccion", UNSURE)]
        code = PromptBuilder(colombian_leads("code"))
        system = code.build(item).system
        assert "'CL 45A BIS SUR 12 30'" in system
        assert "KR 15 100 25" in system
        assert code.prompt_version != PromptBuilder(COLOMBIAN_LEADS).prompt_version

    def test_unknown_style(self) -> None:
        """An unknown style is a ConfigurationError naming the styles."""
        with pytest.raises(ConfigurationError, match="abbreviated, full, code, legacy"):
            colombian_leads("dian")  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError):
            default_registry_for("dian")  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError):
            address_spec("dian")  # type: ignore[arg-type]


class TestConfig:
    def test_default(self) -> None:
        """The seed's abbreviated style is the default."""
        assert NormalizationConfig().address_style == "abbreviated"

    @pytest.mark.parametrize("key", ["address_style", "addressStyle"])
    def test_names(self, key: str) -> None:
        """The setting takes its snake_case name and its camelCase config item key."""
        assert NormalizationConfig.from_mapping({key: "full"}).address_style == "full"
        assert NormalizationConfig.resolve(stored={key: "code"}).address_style == "code"

    def test_environment(self) -> None:
        """ADDRESS_STYLE sets it, in any case; an override wins."""
        assert NormalizationConfig.resolve(env={"ADDRESS_STYLE": " Code "}).address_style == "code"
        config = NormalizationConfig.resolve(env={"ADDRESS_STYLE": "code"}, address_style="full")
        assert config.address_style == "full"

    def test_bad_value(self) -> None:
        """A bad style names the setting, its source and the styles, never the value."""
        with pytest.raises(ConfigurationError) as caught:
            NormalizationConfig.resolve(env={"ADDRESS_STYLE": "secret-style"})
        message = str(caught.value)
        assert "environment" in message
        assert "address_style" in message
        assert "'abbreviated', 'full', 'code' or 'legacy'" in message
        assert "secret-style" not in message


class TestNormalizer:
    @pytest.mark.parametrize("style", ["abbreviated", "full", "code"])
    def test_config_picks_the_style(self, style: AddressStyle) -> None:
        """The config's address_style picks the direccion chain and prompt."""
        normalizer = Normalizer(config=NormalizationConfig(address_style=style))
        [record] = normalizer.normalize([lead(0)])
        assert record.normalized["direccion"] == WRITTEN[style]
        assert normalizer.profile["direccion"] is address_spec(style)

    def test_default_is_abbreviated(self) -> None:
        """Without a setting, addresses are written in the seed's abbreviated style."""
        [record] = Normalizer().normalize([lead(0)])
        assert record.normalized["direccion"] == WRITTEN["abbreviated"]

    def test_legacy_warns(self) -> None:
        """A normalizer in the deprecated legacy style warns, and writes the old output."""
        with pytest.warns(DeprecationWarning, match="legacy"):
            normalizer = Normalizer(config=NormalizationConfig(address_style="legacy"))
        [record] = normalizer.normalize([lead(0)])
        assert record.normalized["direccion"] == WRITTEN["legacy"]

    def test_own_registry_is_used_as_given(self) -> None:
        """A registry of your own decides the address whatever the config's style."""
        registry = PostProcessorRegistry({"direccion": [str.upper]})
        normalizer = Normalizer(
            config=NormalizationConfig(address_style="code", fields_to_normalize=["direccion"]),
            registry=registry,
        )
        [record] = normalizer.normalize([lead(0)])
        assert record.normalized["direccion"] == RAW

    def test_model_is_told_the_style(self) -> None:
        """The model's prompt and the post-processing of its answer follow the style."""
        backend = FakeBackend()
        normalizer = Normalizer(backend, config=NormalizationConfig(address_style="code"))
        [record] = normalizer.normalize([lead(0, UNSURE)])
        assert record.normalized["direccion"] == "AV BOYACÁ # 12 30"
        [request] = backend.requests
        assert "'CL 45A BIS SUR 12 30'" in request.system


class TestStoredStyle:
    def test_stored_style_switches_the_run(self) -> None:
        """An addressStyle in the stored config item writes that run in its style."""
        normalizer = Normalizer()
        store = MemoryLeadStore([lead(0)], config={"addressStyle": "code"})
        report = normalizer.run(store, now_ms=1_000)
        assert report.records_saved == 1
        assert saved_address(store) == WRITTEN["code"]
        assert normalizer.config.address_style == "abbreviated"
        assert normalizer.last_report == report
        store = MemoryLeadStore([lead(0)])
        normalizer.run(store, now_ms=1_000)
        assert saved_address(store) == WRITTEN["abbreviated"]

    def test_stored_style_switches_the_prompt(self) -> None:
        """With a model, the run in the stored style sends that style's prompt, under its version."""
        backend = FakeBackend()
        normalizer = Normalizer(backend, requests_per_second=10_000)
        store = MemoryLeadStore([lead(0, UNSURE)], config={"addressStyle": "full"})
        normalizer.run(store, now_ms=1_000)
        assert saved_address(store) == "Avenida Boyacá # 12 - 30"
        [request] = backend.requests
        assert "'Calle 45A Bis Sur # 12 - 30'" in request.system
        item = store.get("lead-0")
        assert item is not None
        version = PromptBuilder(colombian_leads("full")).prompt_version
        assert item["normalizationMeta"]["promptVersion"] == version
        assert version != normalizer.prompt_version

    def test_same_style_changes_nothing(self) -> None:
        """A stored style equal to the normalizer's runs on the normalizer itself."""
        normalizer = Normalizer(config=NormalizationConfig(address_style="full"))
        store = MemoryLeadStore([lead(0)], config={"addressStyle": "full"})
        normalizer.run(store, now_ms=1_000)
        assert saved_address(store) == WRITTEN["full"]
        assert not normalizer._styles

    def test_own_registry_cannot_switch(self) -> None:
        """A normalizer with a registry of its own refuses a stored style loudly, saving nothing."""
        normalizer = Normalizer(registry=default_registry.derive())
        store = MemoryLeadStore([lead(0)], config={"addressStyle": "code"})
        with pytest.raises(ConfigurationError, match="addressStyle"):
            normalizer.run(store, now_ms=1_000)
        item = store.get("lead-0")
        assert item is not None
        assert "normalizedData" not in item


class TestCommandLine:
    def test_normalize(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """--address-style picks the style of `normalize`."""
        source = tmp_path / "in.jsonl"
        source.write_text(json.dumps(lead(0)) + "\n", encoding="utf-8")
        out = tmp_path / "out.jsonl"
        assert main(["normalize", str(source), "-o", str(out), "--address-style", "code"]) == 0
        row = json.loads(out.read_text(encoding="utf-8"))
        assert row["normalizedData"]["direccion"] == WRITTEN["code"]

    def test_run(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """--address-style picks the style of `run` on a store."""
        url = f"sqlite:///{tmp_path / 'leads.db'}"
        store = open_store(url, create=True)
        store.put([lead(0)])
        store.close()
        assert main(["run", "--store", url, "--address-style", "full", "--no-progress"]) == 0
        store = open_store(url)
        item = store.get("lead-0")
        store.close()
        assert item is not None
        assert item["normalizedData"]["direccion"] == WRITTEN["full"]

    def test_report_probes_in_the_store_s_style(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`report` re-applies the post-processors in the style the addresses were written in."""
        store = SQLiteLeadStore(tmp_path / "leads.db")
        store.put([lead(n, f"CALLE {n + 1} # 12-30 TORRE 2 APTO 301") for n in range(30)])
        store.set_config({"addressStyle": "code"})
        store.close()
        url = f"sqlite:///{tmp_path / 'leads.db'}"
        assert main(["run", "--store", url, "--no-progress"]) == 0
        check = ["report", "--store", url, "--check", "--no-values"]
        assert main(check) == 0
        assert "0 anomalies" in capsys.readouterr().err
        store = SQLiteLeadStore(tmp_path / "leads.db")
        store.set_config(None)
        store.close()
        assert main(check) == 1  # probed in the default style, every address looks changed
        assert "direccion" in capsys.readouterr().err
        assert main([*check, "--address-style", "code"]) == 0

    def test_bad_style(self, capsys: pytest.CaptureFixture[str]) -> None:
        """An unknown style is a usage error that lists the styles."""
        with pytest.raises(SystemExit) as caught:
            main(["normalize", "x.jsonl", "--address-style", "dian"])
        assert caught.value.code == 2
        error = capsys.readouterr().err
        for style in ADDRESS_STYLES:
            assert style in error

    def test_environment(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Without the option, ADDRESS_STYLE applies."""
        monkeypatch.setenv("ADDRESS_STYLE", "code")
        source = tmp_path / "in.jsonl"
        source.write_text(json.dumps(lead(0)) + "\n", encoding="utf-8")
        out = tmp_path / "out.jsonl"
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert main(["normalize", str(source), "-o", str(out)]) == 0
        row = json.loads(out.read_text(encoding="utf-8"))
        assert row["normalizedData"]["direccion"] == WRITTEN["code"]
