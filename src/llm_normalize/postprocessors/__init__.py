"""Post-processors (being assembled)."""
