"""Ready-made profiles: every field of a kind of record defined once, in one place.

`COLOMBIAN_LEADS` (in `llm_normalize.profiles.colombia`) holds the seven fields of the seed's
web-form leads: for each, what a model is told, the post-processors that tidy it and the
quality bands a healthy run stays within. The default registry is derived from it.
"""

from llm_normalize.profiles.colombia import COLOMBIAN_LEADS, DEFAULT_CHAINS, default_registry

__all__ = ["COLOMBIAN_LEADS", "DEFAULT_CHAINS", "default_registry"]
