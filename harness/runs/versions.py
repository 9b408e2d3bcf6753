"""Pinned runtime versions: the one place the noxfile, the Maven call and the reports read them.

TF Java 1.2.0 (TF 2.21.0) is the version this project targets, but Maven Central serves only
`tensorflow-core-native:1.2.0`; `tensorflow-core-api:1.2.0` and the parent POM
`tensorflow-core:1.2.0` answer 404, so Maven cannot resolve it. 1.1.0 (TF 2.18.0) is the newest
TF Java that resolves; 1.2.0 stays in the matrix as an expected failure
(expectations/expected_failures.toml) so the run fails the day it starts resolving. Its native jars alone
do resolve (one artifact at a time): "1.1.0+native-1.2.0" runs TF 2.21 under the 1.1.0 API.
"""

TF_PYTHON = "2.21.0"
TF_JAVA = "1.1.0"
TF_JAVA_MATRIX = ("1.1.0", "1.2.0")
# The TFLite certify trains an export with (tflite-X, on-device trainability): TF 2.15.1's wheel links the
# Flex delegate training needs; TF_PYTHON's (2.20 on) does not (google-ai-edge/LiteRT#6458), and says so.
TFLITE_ON_DEVICE = ("2.15.1", TF_PYTHON)
# The LiteRT (ai-edge-litert on PyPI, the interpreter TF 2.20+ points tf.lite users to) certify's on-device
# section, --all-kinds and the benchmarks run (litert-X: harness/runtimes/litert.py); TF_PYTHON converts for it.
LITERT = ("2.3.0",)
# The TF each TF Java runs (tests/test_versions.py checks them). "API+native-N" is a row of its own:
# tensorflow-core-api API on tensorflow-core-native N (harness/runtimes/maven.py), reported as what it is.
TF_JAVA_NATIVE = {
    "1.0.0": "2.16.2",
    "1.1.0": "2.18.0",
    "1.2.0": "2.21.0",
    "1.1.0+native-1.2.0": "2.21.0",  # the 1.1.0 API on 1.2.0's TF 2.21 (its native jars are on Central)
}
# What a tensorflow-core-native N needs beside itself, from tensorflow/java's tensorflow-core/pom.xml at
# tag vN (the parent POM Maven would read it from; 1.2.0's is not on Central). Only "+native-N" rows use it.
NATIVE_DEPENDENCIES = {
    "1.2.0": ("org.bytedeco:javacpp:1.5.12", "com.google.protobuf:protobuf-java:4.31.1"),
}

# TF Python versions that export the specs and run them as Python runtimes (each but TF_PYTHON
# in a virtualenv of its own: harness/runs/venvs.py; its pins follow from the version there).
# Adding a version is one line. The comment names each one's previous release on PyPI, the
# baseline a release check of it compares with (venvs.previous_release; pre-releases excluded).
TF_PYTHON_MATRIX = (
    "2.15.1",  # the last Keras 2 TensorFlow (tf.keras is Keras 2: no Keras 3 routes); previous: 2.15.0.post1
    "2.16.2",  # the first with Keras 3 and tf-keras; previous: 2.16.1
    "2.18.0",  # the native TF of TF Java 1.1.0 (the same kernels in both languages); previous: 2.17.1
    "2.21.0",  # = TF_PYTHON, the harness's own (no virtualenv); previous: 2.20.0
)
