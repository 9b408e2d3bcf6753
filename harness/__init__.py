"""Cross-language conformance harness for TensorFlow training exports."""
