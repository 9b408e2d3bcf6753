"""TEST-ONLY: a runtime's worker with a fault planted (faults.planted_kind starts it in place of the real one).

`python -m harness.testing.planted_worker harness.runtimes.java_worker`, with HARNESS_PLANT_FAULT=<fault>: the named
worker module's Host, its sessions wrapped as the fault says (faults.PlantedHost).
"""

import importlib
import os
import sys

from . import faults
from ..runtimes import worker

if __name__ == "__main__":
    host = importlib.import_module(sys.argv[1]).HOST()
    worker.serve(faults.PlantedHost(host, faults.find(os.environ[faults.ENV])))
