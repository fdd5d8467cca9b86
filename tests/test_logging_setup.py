"""The package configures no logging of its own: its logger only carries a NullHandler."""

import logging
import subprocess
import sys

import llm_normalize  # noqa: F401  (the import under test)


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)


class TestNullHandler:
    def test_package_logger_has_a_null_handler(self) -> None:
        """Importing the package leaves a NullHandler on its logger."""
        handlers = logging.getLogger("llm_normalize").handlers
        assert any(isinstance(handler, logging.NullHandler) for handler in handlers)

    def test_only_a_null_handler(self) -> None:
        """In a fresh interpreter that handler is the only one, and the level is left unset."""
        result = run(
            "import logging, llm_normalize\n"
            "logger = logging.getLogger('llm_normalize')\n"
            "print([type(h).__name__ for h in logger.handlers], logger.level, logger.propagate)\n"
        )
        assert result.stdout.strip() == "['NullHandler'] 0 True"

    def test_warning_not_printed_by_last_resort(self) -> None:
        """A library warning with no logging configured prints nothing on stderr."""
        result = run(
            "import logging, llm_normalize\n"
            "logging.getLogger('llm_normalize.stores.sqlite').warning('a library warning')\n"
        )
        assert result.stderr == ""

    def test_without_the_package_it_would_print(self) -> None:
        """The check above is meaningful: Python's last-resort handler prints such a warning."""
        result = run("import logging\nlogging.getLogger('llm_normalize.x').warning('printed')\n")
        assert "printed" in result.stderr

    def test_application_logging_still_sees_warnings(self) -> None:
        """An application that configures logging gets the library's warnings as usual."""
        result = run(
            "import logging, llm_normalize\n"
            "logging.basicConfig(format='%(name)s: %(message)s')\n"
            "logging.getLogger('llm_normalize.stores.sqlite').warning('shown')\n"
        )
        assert result.stderr == "llm_normalize.stores.sqlite: shown\n"

    def test_import_stays_light(self) -> None:
        """The handler costs no import: logging is in the standard library and loaded anyway."""
        result = run(
            "import sys, llm_normalize\n"
            "print(','.join(m for m in ('boto3', 'botocore', 'sqlite3') if m in sys.modules))\n"
        )
        assert result.stdout.strip() == ""
