"""llm_normalize (package being assembled)."""
