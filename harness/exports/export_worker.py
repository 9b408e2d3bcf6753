"""Exports one spec by one route in a process of its own: under another TF Python version (the
interpreter of its virtualenv, harness/runs/venvs.py), or with the logical CPUs a distributed spec needs.

stdin: {"raw": <spec table>, "route": ..., "bundle": <dir with data.npz>, "threads": <int>}; writes
<bundle>/saved_model and prints {"names": <save-signature variable names>, "versions": <exporter's
package versions>} as JSON on the last line of stdout.

Imports only the exporter's modules (spec, data, bundle, routes) and what they import: it runs in
virtualenvs that have TensorFlow, numpy and Keras but neither JPype nor pytest, under TF 2.15 on.
"""

import json
import sys
from pathlib import Path

from . import routes, spec
from .bundle import exporter_versions, load_data


def main() -> None:
    request = json.loads(sys.stdin.read())
    parsed = spec.parse(request["raw"], f"spec {request['raw'].get('name')!r}")
    import logging

    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    logging.getLogger("absl").setLevel(logging.ERROR)
    threads = request.get("threads", 1)
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    if parsed.replicas:
        (cpu,) = tf.config.list_physical_devices("CPU")
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * parsed.replicas)
    bundle = Path(request["bundle"])
    names = routes.export(parsed, request["route"], bundle / "saved_model", load_data(bundle / "data.npz"))
    print(json.dumps({"names": names, "versions": exporter_versions()}))


if __name__ == "__main__":
    main()
