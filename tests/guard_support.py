"""What the guard tests share: the field specs, one guard, the verdicts, the sample leads."""

import json
from pathlib import Path

from llm_normalize.guard import Guard, Verdict
from llm_normalize.profiles.colombia import COLOMBIAN_LEADS

LEADS_FILE = Path(__file__).resolve().parents[1] / "examples" / "leads.jsonl"

NOMBRES = COLOMBIAN_LEADS["nombres"]
APELLIDOS = COLOMBIAN_LEADS["apellidos"]
DIRECCION = COLOMBIAN_LEADS["direccion"]
CIUDAD = COLOMBIAN_LEADS["ciudad"]
NIVEL = COLOMBIAN_LEADS["nivelEducativo"]
OCUPACION = COLOMBIAN_LEADS["ocupacionActual"]
EMPRESA = COLOMBIAN_LEADS["empresa"]

OK = Verdict(ok=True, reason=None)

# One guard for the tests: it is stateless, and the gazetteer loads once.
GUARD = Guard()


def rejected(reason: str) -> Verdict:
    return Verdict(ok=False, reason=reason)


def sample_leads() -> list[dict[str, object]]:
    with LEADS_FILE.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]
