"""Exports one spec by one route in a process of its own (used for distributed specs).

stdin: {"raw": <spec table>, "route": ..., "bundle": <dir with data.npz>}; writes <bundle>/saved_model
and prints the save-signature variable names as JSON on the last line of stdout.
"""

import json
import sys
from pathlib import Path

from . import routes, spec
from .bundle import load_data


def main() -> None:
    request = json.loads(sys.stdin.read())
    parsed = spec.parse(request["raw"], f"spec {request['raw'].get('name')!r}")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    (cpu,) = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * max(parsed.replicas, 1))
    bundle = Path(request["bundle"])
    names = routes.export(parsed, request["route"], bundle / "saved_model", load_data(bundle / "data.npz"))
    print(json.dumps(names))


if __name__ == "__main__":
    main()
