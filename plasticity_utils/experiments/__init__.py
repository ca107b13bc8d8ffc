"""One module per paper experiment: its config, profiles and per-seed training."""
