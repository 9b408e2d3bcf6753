"""The plan every runtime runs, and how its outputs are compared: importable under every supported TF and numpy."""
