import inspect
import subprocess
import sys

import pytest

import llm_normalize
import llm_normalize.backends
import llm_normalize.postprocessors
import llm_normalize.stores

MODULES = [
    llm_normalize,
    llm_normalize.postprocessors,
    llm_normalize.backends,
    llm_normalize.stores,
]


@pytest.mark.parametrize("module", MODULES)
def test_all_is_complete_and_sorted(module: object) -> None:
    """__all__ lists every public name, sorted, and each exists."""
    exported = module.__all__  # type: ignore[attr-defined]
    # isort-style, as ruff's RUF022 keeps it: CONSTANTS, then Classes, then functions.
    assert exported == sorted(exported, key=lambda n: (not n.isupper(), not n[:1].isupper(), n))
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, type(sys))
        and name not in {"annotations", "TYPE_CHECKING"}
        # Names the module defines or re-exports from the package, not helpers it imports.
        and str(getattr(value, "__module__", "llm_normalize")).startswith(module.__name__)  # type: ignore[attr-defined]
    }
    assert public <= set(exported) | {"__version__"}
    for name in exported:
        assert hasattr(module, name)


@pytest.mark.parametrize("module", MODULES)
def test_every_public_name_documented(module: object) -> None:
    """Every exported class and function has a docstring."""
    for name in module.__all__:  # type: ignore[attr-defined]
        value = getattr(module, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), name


def test_import_is_light() -> None:
    """Importing the package loads neither boto3 nor botocore nor any optional extra."""
    code = (
        "import sys, llm_normalize\n"
        "import llm_normalize.backends, llm_normalize.stores\n"
        "heavy = [m for m in ('boto3', 'botocore', 'pandas', 'tqdm', 'aws_lambda_powertools', 'rapidfuzz', 'sqlite3')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_import_loads_no_report_html_or_lambda() -> None:
    """Importing the package loads neither the quality report, nor HTML code, nor the Lambda."""
    code = (
        "import sys, llm_normalize\n"
        "import llm_normalize.backends, llm_normalize.stores, llm_normalize.job\n"
        "heavy = [m for m in sys.modules if m.startswith(('llm_normalize.quality',"
        " 'llm_normalize.display', 'llm_normalize.notebook', 'llm_normalize.aws_lambda',"
        " 'llm_normalize._html'))]\n"
        "print(','.join(sorted(heavy)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
