"""`python -m llm_normalize` runs the `llm-normalize` command."""

from llm_normalize.cli import main

raise SystemExit(main())
