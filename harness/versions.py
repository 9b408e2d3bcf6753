"""Pinned runtime versions: the one place the noxfile, the Maven call and the reports read them.

TF Java 1.2.0 (TF 2.21.0) is the version this project targets, but Maven Central serves only
`tensorflow-core-native:1.2.0`; `tensorflow-core-api:1.2.0` and the parent POM
`tensorflow-core:1.2.0` answer 404, so Maven cannot resolve it. 1.1.0 (TF 2.18.0) is the newest
TF Java that resolves; 1.2.0 stays in the matrix as an expected failure
(expectations/java-1.2.0.toml) so the run fails the day it starts resolving.
"""

TF_PYTHON = "2.21.0"
TF_JAVA = "1.1.0"
TF_JAVA_MATRIX = ("1.1.0", "1.2.0")
TF_JAVA_NATIVE = {"1.0.0": "2.16.2", "1.1.0": "2.18.0", "1.2.0": "2.21.0"}  # the TF each TF Java runs (tests/test_versions.py checks the pinned one)
