"""The registry of runtime kinds: everything that needs a kind asks here, by a runtime's name.

To add a kind: a module in this package with a Runtime subclass (base.py; WorkerRuntime in
workers.py when it lives in a worker process), and its line in KINDS. """

from __future__ import annotations

import re

from ..errors import HarnessError
from .base import Runtime
from .c import C
from .java import Java
from .java_plain import JavaPlain
from .litert import LiteRT
from .python import Python, PythonSession
from .tflite import TFLite

KINDS: dict[str, type[Runtime]] = {k.kind: k for k in (Python, PythonSession, Java, JavaPlain, C, TFLite, LiteRT)}
REFERENCE = Python  # the kind whose runtime of an export's TF version is that export's reference
DEFAULT_PER_TF = (Python, PythonSession)  # what each TF Python version of a run gets without asking


def parse(name: str) -> tuple[str, str]:
    """"python-session-2.21.0" -> ("python-session", "2.21.0")."""
    for kind in sorted(KINDS, key=len, reverse=True):
        if name.startswith(kind + "-") and name[len(kind) + 1:len(kind) + 2].isdigit():  # versions start with a digit
            return kind, name[len(kind) + 1:]
    raise HarnessError(f"runtime {name!r} is not <kind>-<version> with a kind in {sorted(KINDS)}")


def kind_of(name: str) -> type[Runtime]:
    return KINDS[parse(name)[0]]


def tensorflow_of(name: str) -> str:
    """The TensorFlow version a runtime runs ("" if unknown): TF Java versions bundle a native TF."""
    kind, version = parse(name)
    return KINDS[kind].tensorflow(version)


def reference(exporter: str) -> str:
    """The runtime every export written by TF `exporter` is compared with."""
    return f"{REFERENCE.kind}-{exporter}"


def same_outputs_as(name: str) -> str | None:
    """The runtime whose outputs `name` must equal bit for bit (java-plain-V: java-V), or None."""
    kind, version = parse(name)
    other = KINDS[kind].same_outputs_as
    return f"{other}-{version}" if other else None


def names(tf_versions, extra=(), java_versions=(), plain_java_versions=()) -> list[str]:
    """The runtimes of a run, in report column order: each TF version's default kinds, TF Java's as the
    flags ask, then `extra` ("<kind>-<version>" of any registered kind: checked here)."""
    wanted = [f"{k.kind}-{v}" for v in tf_versions for k in DEFAULT_PER_TF]
    wanted += [f"{Java.kind}-{v}" for v in java_versions] + [f"{JavaPlain.kind}-{v}" for v in plain_java_versions]
    wanted += list(extra)
    for name in wanted:
        parse(name)
    return list(dict.fromkeys(wanted))


def every_kind(tf_versions) -> list[str]:
    """Each TF version's runtimes of every kind versioned by TF beyond the defaults (c-X, tflite-X), by version,
    then every kind with versions of its own at those (litert-X)."""
    return [f"{k.kind}-{v}" for v in tf_versions for k in KINDS.values()
            if k.versioned_by_tensorflow and k not in DEFAULT_PER_TF] + _own_versions(KINDS.values())


def on_device(versions=None) -> list[str]:
    """The runtimes that train as on a device (Capabilities.on_device), for certify's --on-device values: a TF
    version X is every such kind versioned by TF (tflite-X), a runtime's name is itself (litert-2.3.0). None:
    the TF versions of versions.TFLITE_ON_DEVICE, then every such kind at its own versions."""
    from ..runs.versions import TFLITE_ON_DEVICE

    kinds = [k for k in KINDS.values() if k.capabilities.on_device]
    if versions is None:
        return on_device(TFLITE_ON_DEVICE) + _own_versions(kinds)
    out = []
    for value in versions:
        if value[:1].isdigit():
            out += [f"{k.kind}-{value}" for k in kinds if k.versioned_by_tensorflow]
        elif is_on_device(value):
            out.append(value)
        else:
            raise HarnessError(f"--on-device {value!r}: not a TF version nor an on-device runtime "
                               f"({', '.join(k.kind + '-X' for k in kinds)})")
    return out


def _own_versions(kinds) -> list[str]:
    return [f"{k.kind}-{v}" for k in kinds if not k.versioned_by_tensorflow for v in k.own_versions()]


def is_on_device(name: str) -> bool:
    return kind_of(name).capabilities.on_device


def column_title(name: str) -> tuple[str, str]:
    """A column title on two lines: `java` over `1.1.0`; a name no kind has (an older report) splits at
    the first "-<digit>"."""
    try:
        return parse(name)
    except HarnessError:
        match = re.match(r"(.+?)-(\d.*)$", name)
        return match.groups() if match else (name, "")
