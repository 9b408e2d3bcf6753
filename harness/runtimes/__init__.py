"""Runtimes: what loads an export and trains it, each kind behind one protocol (base.Runtime).

A runtime is a kind and a version, named "<kind>-<version>":

  python-2.21.0          TF Python 2.21.0: tf.saved_model.load and the signatures (the reference)
  python-session-2.21.0  TF Python 2.21.0: the TF1 session loader (the C++ loader TF Java and the C API use)
  java-1.1.0             TF Java 1.1.0, driven through JPype
  java-plain-1.1.0       TF Java 1.1.0 with no Python at all: java/'s TrainExport program, one JVM per run

  base.py      the protocol: Runtime, its Capabilities
  registry.py  the kinds (KINDS), and every question asked by a runtime's name
  workers.py   worker processes, and WorkerRuntime for kinds that live in one
  sets.py      the runtimes of one thread of cases (WorkerSet)
  <kind>.py    one module per kind: python.py, java.py, java_plain.py

To add a kind: its module and its line in registry.KINDS. To add a version: versions.py.
"""

import importlib

# What `from harness import runtimes; runtimes.X` offers, by the module that defines it. Loaded on first
# use (PEP 562): the worker processes import modules of this package under old TF and numpy versions
# and need none of the harness side.
_WHERE = {
    **dict.fromkeys(["DEFAULT_CALL_TIMEOUT", "Capabilities", "Runtime", "Setting"], "base"),
    **dict.fromkeys(["KINDS", "column_title", "kind_of", "names", "every_kind", "on_device", "is_on_device", "parse", "reference", "same_outputs_as",
                     "tensorflow_of"], "registry"),
    **dict.fromkeys(["LOW_MEMORY", "WORKER_MEMORY", "WorkerSet", "available_memory", "single", "stop"], "sets"),
    **dict.fromkeys(["SessionProxy", "Worker", "WorkerLost", "WorkerRuntime", "WorkerStart"], "workers"),
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
