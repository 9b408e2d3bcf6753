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

from .base import DEFAULT_CALL_TIMEOUT, Capabilities, Runtime, Setting
from .registry import KINDS, column_title, kind_of, names, parse, reference, same_outputs_as, tensorflow_of
from .sets import LOW_MEMORY, WORKER_MEMORY, WorkerSet, available_memory, single, stop
from .workers import SessionProxy, Worker, WorkerLost, WorkerRuntime, WorkerStart

__all__ = ["DEFAULT_CALL_TIMEOUT", "KINDS", "LOW_MEMORY", "WORKER_MEMORY", "Capabilities", "Runtime", "SessionProxy",
           "Setting", "Worker", "WorkerLost", "WorkerRuntime", "WorkerSet", "WorkerStart", "available_memory",
           "column_title", "kind_of", "names", "parse", "reference", "same_outputs_as", "single", "stop",
           "tensorflow_of"]
