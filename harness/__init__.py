"""Cross-language conformance harness for TensorFlow training exports."""

__version__ = "0.1.0"  # the package's version (pyproject.toml reads it: [tool.hatch.version])
