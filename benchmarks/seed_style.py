"""The seed's way of calling the model, as a baseline for the benchmarks (not a library feature).

The seed's Lambda (``seed/ARCHITECTURE.md``) sends every field of `batch_size` leads per call,
whatever the rules think, one call at a time with a fixed 500 ms sleep between calls, with no
dedupe and no cache. Its prompt is one user message (no system prompt, no tool): the
field-specific rules, a few examples, then the leads' fields as JSON; the model answers with
JSON, which the seed extracts from a Markdown code block. The seed documents ~1,300 input
tokens and ~80 output tokens per 10-lead call.

This module rebuilds that request shape with synthetic wording (the seed's own prompt text is
not in this repository): `seed_prompt` renders it, `seed_request` wraps it in a `ModelRequest`,
`seed_echo` answers it the way the seed's model would (every field of every lead, in the
seed's JSON array, compact, in a ```json block) with the raw values, and `seed_style_run`
runs the seed's loop. `SEED_PROMPT_TOKENS_PER_10_LEADS` is what the prompt measures on
``examples/leads.jsonl`` with the library's token estimate (characters / 3.3, as the
`FakeBackend` reports it); ``python benchmarks/seed_style.py`` measures it again.

The seed's ~80 output tokens cannot hold 70 values (10 leads x 7 fields): an answer that
carries them all is several hundred tokens with any tokenizer. `seed_echo` answers every value,
compactly, and the benchmark reports the output tokens it measures.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from llm_normalize import default_registry
from llm_normalize.backends.base import Backend
from llm_normalize.backends.fake import FakeBackend
from llm_normalize.backends.retry import RetryPolicy
from llm_normalize.config import DEFAULT_FIELDS
from llm_normalize.exceptions import BackendError
from llm_normalize.messages import (
    Item,
    Message,
    ModelRequest,
    ModelResponse,
    Usage,
    estimate_request_tokens,
)
from llm_normalize.pricing import estimate_cost

SEED_BATCH_SIZE: Final = 10
"""Leads per call in the seed (``batchSize: 10``)."""

SEED_PAUSE_S: Final = 0.5
"""The seed's fixed sleep between calls (``Sleep 500ms (rate limiting)``)."""

SEED_MAX_TOKENS: Final = 1000
"""The seed's ``max_tokens``."""

SEED_DOCUMENTED_INPUT_TOKENS: Final = 1300
"""Input tokens per 10-lead call, as the seed documents them (``~1,300 tokens``)."""

SEED_PROMPT_TOKENS_PER_10_LEADS: Final = 1303
"""What `seed_prompt` measures per full 10-lead call on ``examples/leads.jsonl`` (mean)."""

SAMPLE: Final = Path(__file__).resolve().parents[1] / "examples" / "leads.jsonl"

# The fixed part of the prompt: field rules, examples, the answer format. Synthetic Spanish
# wording in the seed's shape ("field-specific normalization rules, examples for context,
# JSON structure with lead fields"), sized so that a 10-lead call of the sample comes to the
# seed's ~1,300 tokens.
_SEED_RULES = """Eres un asistente que normaliza datos de formularios web de Colombia.
Recibirás una lista de leads en JSON. Normaliza cada campo según estas reglas y no inventes datos.

REGLAS POR CAMPO:
1. nombres: nombres propios con mayúscula inicial en cada palabra ("JUAN CARLOS" -> "Juan Carlos"). Conserva tildes y la ñ; agrega la tilde solo si el nombre es inequívoco ("Maria" -> "María", "Andres" -> "Andrés").
2. apellidos: igual que nombres ("PEREZ GARCIA" -> "Pérez García").
3. direccion: formato colombiano estándar. Abreviaturas: Cra., Cl., Av., Tr., Dg. Usa "#" antes de la placa y " - " entre sus números ("CRA 15 NO 100 25" -> "Cra. 15 # 100 - 25"). Complementos: Apto., Int., Torre, Bloque, Casa. Direcciones rurales (vereda, finca, km, corregimiento) en mayúscula inicial, sin abreviar.
4. ciudad: nombre oficial con tildes. Bogotá se escribe "Bogotá D.C." ("bogota", "Bta" -> "Bogotá D.C."). Otras: "Medellín", "Cali". Si no es una ciudad colombiana, déjala como está, con mayúscula inicial.
5. nivelEducativo: uno de estos valores exactos: "Primaria", "Bachiller", "Técnico", "Tecnólogo", "Profesional", "Especialización", "Maestría", "Doctorado" ("profesional universitario" -> "Profesional"; "mba" -> "Maestría").
6. ocupacionActual: cargo u ocupación con mayúscula inicial, sin abreviaturas ("Ing. Sistemas" -> "Ingeniero de Sistemas"; "aux contable" -> "Auxiliar Contable").
7. empresa: nombre de la empresa o institución como se escribe oficialmente; siglas en mayúscula ("sena" -> "SENA"; "bancolombia s.a" -> "Bancolombia S.A.").

Si un campo está vacío, no tiene sentido o no puedes normalizarlo, devuélvelo sin cambios.

EJEMPLO:
Entrada: [{"nombres":"MARIA JOSE","apellidos":"PEÑA ROMERO","direccion":"CALLE 143 98 60 TORRE 5 APTO 1203","ciudad":"bogota","nivelEducativo":"profesional universitario","ocupacionActual":"Ing. Sistemas","empresa":"sena"}]
Salida: [{"nombres":"María José","apellidos":"Peña Romero","direccion":"Cl. 143 # 98 - 60 Torre 5 Apto. 1203","ciudad":"Bogotá D.C.","nivelEducativo":"Profesional","ocupacionActual":"Ingeniero de Sistemas","empresa":"SENA"}]

Responde ÚNICAMENTE con un arreglo JSON válido, un objeto por lead, en el mismo orden y con los mismos campos que la entrada, sin texto adicional.

LEADS:
"""

_FENCED_JSON = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


@dataclass(frozen=True, slots=True)
class SeedStyleReport:
    """What a seed-style pass did: calls, values sent, tokens and their estimated cost."""

    model_calls: int
    values_sent_to_model: int
    usage: Usage
    estimated_cost_usd: float | None
    failed_calls: int

    @property
    def input_tokens(self) -> int:
        return self.usage.input_tokens

    @property
    def output_tokens(self) -> int:
        return self.usage.output_tokens


def seed_fields(lead: Mapping[str, Any], fields: Sequence[str]) -> dict[str, str]:
    """The fields of one lead the seed sends: every field to normalize that holds a value."""
    sent: dict[str, str] = {}
    for name in fields:
        raw = lead.get(name)
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            continue
        text = str(raw)
        if default_registry.apply(name, text):
            sent[name] = text
    return sent


def seed_prompt(batch: Sequence[Mapping[str, str]]) -> str:
    """The seed-shaped prompt for a batch of leads' fields (see the module docstring)."""
    return _SEED_RULES + json.dumps(list(batch), ensure_ascii=False, separators=(",", ":"))


def seed_request(batch: Sequence[Mapping[str, str]]) -> ModelRequest:
    """One seed-style call: a single user message, no system prompt, no tool.

    The items (id ``"<lead>.<field>"``) ride along for fakes, as `PromptBuilder`'s do; they
    are never sent.
    """
    items = tuple(
        Item(f"{position}.{name}", name, value)
        for position, fields in enumerate(batch)
        for name, value in fields.items()
    )
    return ModelRequest(
        system="",
        messages=(Message("user", seed_prompt(batch)),),
        max_tokens=SEED_MAX_TOKENS,
        items=items,
    )


def seed_echo(request: ModelRequest) -> str:
    """Answer a `seed_request` as the seed's model would, with every raw value unchanged.

    A JSON array, one object per lead with the fields it was sent, compact (the cheapest way
    the seed's answer can be written), in a ```json block as Claude usually fences it.
    """
    leads: dict[str, dict[str, str]] = {}
    for item in request.items:
        position = item.id.split(".", 1)[0]
        leads.setdefault(position, {})[item.field] = item.value
    body = json.dumps(list(leads.values()), ensure_ascii=False, separators=(",", ":"))
    return f"```json\n{body}\n```"


def _answered(response: ModelResponse, batch: Sequence[Mapping[str, str]]) -> bool:
    """Whether an answer holds every lead of the batch (the seed's "validate structure").

    The seed's array of leads is accepted, and so is the library's ``{"items": [...]}`` with
    every item id, which a default `FakeBackend` echoes.
    """
    answer: Any = response.tool_input
    if answer is None:
        text = response.text or ""
        fenced = _FENCED_JSON.search(text)
        try:
            answer = json.loads(fenced.group(1) if fenced else text)
        except ValueError:
            return False
    if isinstance(answer, list):
        return len(answer) == len(batch) and all(isinstance(lead, dict) for lead in answer)
    if isinstance(answer, dict) and isinstance(answer.get("items"), list):
        ids = {item.get("id") for item in answer["items"] if isinstance(item, dict)}
        expected = {f"{n}.{name}" for n, fields in enumerate(batch) for name in fields}
        return ids >= expected
    return False


def seed_style_run(
    leads: Sequence[Mapping[str, Any]],
    backend: Backend,
    *,
    batch_size: int = SEED_BATCH_SIZE,
    pause_s: float = SEED_PAUSE_S,
    fields: Sequence[str] = DEFAULT_FIELDS,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], object] = time.sleep,
) -> SeedStyleReport:
    """Send the leads the seed's way: `batch_size` whole leads per call, one call at a time."""
    policy = retry or RetryPolicy()
    calls = sent = failed = 0
    usage = Usage()
    for start in range(0, len(leads), batch_size):
        batch = [seed_fields(lead, fields) for lead in leads[start : start + batch_size]]
        batch = [lead for lead in batch if lead]
        if not batch:
            continue
        if calls:
            sleep(pause_s)
        request = seed_request(batch)
        calls += 1
        sent += len(request.items)
        try:
            response = policy.call(lambda request=request: backend.complete(request))  # type: ignore[misc]
        except BackendError:
            failed += 1
            continue
        usage = usage + response.usage
        if not _answered(response, batch):
            failed += 1
    cost = estimate_cost(backend.model_id, usage)
    return SeedStyleReport(calls, sent, usage, cost, failed)


def seed_wall_s(calls: int, latency_s: float, pause_s: float = SEED_PAUSE_S) -> float:
    """The seed loop's wall time, exactly: each call's latency, and a pause between calls.

    One call at a time with a fixed pause keeps it far under any quota of a few requests per
    second, so nothing is throttled and nothing else adds to it but the CPU time of building
    prompts (well under a millisecond a call).
    """
    return calls * latency_s + max(calls - 1, 0) * pause_s


def prompt_tokens_per_call(
    leads: Sequence[Mapping[str, Any]], batch_size: int = SEED_BATCH_SIZE
) -> list[int]:
    """The estimated input tokens of each full seed-style call over `leads`."""
    counts = []
    for start in range(0, len(leads) - batch_size + 1, batch_size):
        batch = [seed_fields(lead, DEFAULT_FIELDS) for lead in leads[start : start + batch_size]]
        counts.append(estimate_request_tokens(seed_request([lead for lead in batch if lead])))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description="Measure the seed-sized prompt's tokens.")
    parser.add_argument("--file", type=Path, default=SAMPLE)
    args = parser.parse_args()
    lines = args.file.read_text(encoding="utf-8").splitlines()
    leads = [json.loads(line) for line in lines if line.strip()]
    counts = prompt_tokens_per_call(leads)
    fixed = estimate_request_tokens(seed_request([]))
    backend = FakeBackend(seed_echo)
    report = seed_style_run(leads, backend, sleep=lambda _: None)
    print(
        f"{len(counts)} full 10-lead calls from {args.file.name}: input tokens per call "
        f"mean {statistics.mean(counts):.0f}, median {statistics.median(counts):.0f}, "
        f"min {min(counts)}, max {max(counts)} (the seed documents ~{SEED_DOCUMENTED_INPUT_TOKENS}); "
        f"fixed part {fixed}; output tokens per call "
        f"{report.output_tokens / max(report.model_calls, 1):.0f} (the seed documents ~80)"
    )


if __name__ == "__main__":
    main()
