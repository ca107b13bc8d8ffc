"""Episode generators for the papers' tasks."""
