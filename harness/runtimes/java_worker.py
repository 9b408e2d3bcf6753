"""The TF Java runtime's worker process: imports jpype and numpy, never tensorflow.

Served by worker.serve (the protocol is there). Two TensorFlow builds (a Python wheel's and TF
Java's) never share an address space. A signature call is one JPype crossing into
dev.conformance.worker.Calls (java/worker/, compiled by javac.py): Python hands it the addresses of
the numpy arrays, Java makes each input tensor with one bulk copy, calls the signature, copies the
outputs into memory Python owns and closes every tensor before returning; then numpy reads them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import worker
from ..plan.trajectory import RuntimeFailure

# Type codes shared with Calls.java (Calls.TYPES, Calls.STRING, Calls.SKIPPED).
TYPES = [np.dtype(t) for t in (np.float16, np.float32, np.float64, np.int32, np.int64, np.bool_)]
CODES = {dtype: code for code, dtype in enumerate(TYPES)}
STRING, SKIPPED, PENDING = 100, -1, -1
STAGED = 1 << 14  # inputs up to this size are copied into memory whose address is known (cheaper than asking)


class Java:
    """The TF Java classes this worker uses, imported once the JVM is up."""

    def __init__(self, classpath: list[str]):
        import jpype

        # A fixed young generation: each call's garbage cycles through the same 64 MiB. G1 otherwise grows
        # it for ~20,000 calls (RSS +37%, then flat: measured), which reads as a leak in a soak.
        jpype.startJVM(jvm_path(), "-Xmn64m", classpath=classpath, convertStrings=False)
        # JClass, not `import java...`: the repository's java/ folder would shadow that package name.
        J = jpype.JClass
        self.jpype = jpype
        self.System = J("java.lang.System")
        self.Pointer = J("org.bytedeco.javacpp.Pointer")
        self.SavedModelBundle = J("org.tensorflow.SavedModelBundle")
        self.TensorFlow = J("org.tensorflow.TensorFlow")
        self.ConfigProto = J("org.tensorflow.proto.ConfigProto")
        self.Calls = J("dev.conformance.worker.Calls")
        self.Strings = jpype.JArray(jpype.JString)
        self.Longs = jpype.JArray(jpype.JLong)
        # The first tensor TF Java ever creates leaves one native pointer alive for good (a lazy
        # singleton, measured). Create it now so the per-call pointer accounting starts at rest.
        self.echo(np.zeros(1, np.float32), np.empty(1, np.float32))

    def echo(self, array: np.ndarray, out: np.ndarray) -> int:
        """numpy -> a TF Java tensor -> `out`; returns the native pointers it left alive."""
        code = CODES.get(array.dtype)
        if code is None:
            raise TypeError(f"no TF Java type for numpy dtype {array.dtype}")
        array = np.require(array, requirements="C")  # not ascontiguousarray: that turns a 0-d array into 1-d
        return int(self.Calls.echo(code, self.Longs(list(array.shape)), array.ctypes.data, array.nbytes,
                                   out.ctypes.data))


def jvm_path() -> str:
    """The JDK in JAVA_HOME when it is set (and it must then be a JDK), else the one JPype finds."""
    import jpype

    home = os.environ.get("JAVA_HOME")
    if not home:
        return jpype.getDefaultJVMPath()
    path = Path(home) / "lib" / "server" / "libjvm.so"
    if not path.exists():
        raise FileNotFoundError(f"JAVA_HOME={home} is not a JDK: {path} does not exist")
    return str(path)


class _Layout:
    """One way of calling a signature (input names, dtypes, shapes): its Java handle and header."""

    def __init__(self, handle: int, outputs: list[str], header: np.ndarray, at: dict, staged: list, direct: list):
        self.handle, self.outputs, self.header = handle, outputs, header
        self.address = header.ctypes.data
        self.at = at  # input name -> header index of its address
        self.staged = staged  # (input name, array in the stage whose address the header holds)
        self.direct = direct  # (input name, header index of its address): arrays passed where they are
        self.reading: dict | None = None  # output name -> its view in the data area, as the last call wrote it


class JavaSession:
    """A SavedModelBundle driven through its signatures (SessionFunction) and Session.save."""

    def __init__(self, java: Java, saved_model: Path, threads: int, tags=("serve",)):
        self.java = java
        config = (java.ConfigProto.newBuilder().setIntraOpParallelismThreads(threads)
                  .setInterOpParallelismThreads(threads).build())
        self.bundle = java.SavedModelBundle.loader(str(saved_model)).withTags(*tags).withConfigProto(config).load()
        self.calls = java.Calls(self.bundle)
        self.layouts: dict[tuple, _Layout] = {}
        self.meta = np.zeros(256, np.int64)  # what the outputs are (Calls.call writes it)
        self.data = np.empty(1 << 16, np.uint8)  # the outputs' bytes
        self.calls.bind(self.meta.ctypes.data, self.meta.size, self.data.ctypes.data, self.data.nbytes)
        self.unreleased = 0  # native pointers (tensors) still alive after a call: must stay 0

    def call(self, signature, feeds):
        layout = self._layout(signature, feeds)
        for name, stage in layout.staged:
            np.copyto(stage, feeds[name], casting="no")
        header, alive = layout.header, []  # alive: what the header points into, until Java returns
        for name, at in layout.direct:
            value = feeds[name]
            if value.dtype.kind == "S":  # a scalar string: its UTF-8 bytes
                text = value.item()
                value = np.frombuffer(text, np.uint8) if text else np.zeros(1, np.uint8)
                header[at + 1] = len(text)
            else:
                value = np.require(value, requirements="C")
            alive.append(value)
            header[at] = value.ctypes.data
        changed = self._after(self.calls.call(layout.handle, layout.address))
        return {name: view.copy() for name, view in self._reading(layout, changed).items()}

    def trainer(self, data: dict, interface):
        """step -> loss, as trajectory's generic train step has it (the train signature on row `step`
        of the stacked train.* arrays, its loss output), with the per-call work done here, once: a
        header per row, pointing into the stacked arrays. A call is then one JPype crossing and one
        read of the loss. None where the inputs are not all numeric arrays of at least one row."""
        stacked = {key[len("train."):]: np.require(value, requirements="C")
                   for key, value in data.items() if key.startswith("train.")}
        if not stacked or not all(v.ndim and len(v) and v.dtype in CODES for v in stacked.values()):
            return None
        rows = min(len(v) for v in stacked.values())
        layout = self._layout(interface.train, {name: value[0] for name, value in stacked.items()})
        headers = np.tile(layout.header, (rows, 1))
        for name, at in layout.at.items():
            value = stacked[name]
            headers[:, at] = value.ctypes.data + np.arange(rows, dtype=np.int64) * value.strides[0]
        addresses = (headers.ctypes.data + np.arange(rows) * headers.strides[0]).tolist()
        handle, call, loss = layout.handle, self.calls.call, interface.loss

        def train(step: int) -> np.ndarray:
            result = call(handle, addresses[step])
            if result & 1 or layout.reading is None:  # described anew (PENDING, -1, is odd too), or new areas
                return self._reading(layout, self._after(result))[loss].copy()
            self.unreleased += result >> 1
            return layout.reading[loss].copy()

        train.arrays = (stacked, headers)  # what the headers point into: alive as long as the step is
        return train

    def _after(self, result: int) -> bool:
        """After Calls.call: the outputs fetched into larger areas if it answered PENDING, the tensors it
        left open counted; whether the outputs' description differs from the last call's on this handle."""
        result = int(result)
        if result == PENDING:  # the outputs need larger areas: Java holds them until fetch()
            need_data, need_meta = int(self.meta[0]), int(self.meta[1])
            self.meta = np.zeros(max(need_meta, self.meta.size), np.int64)
            self.data = np.empty(max(need_data, 2 * self.data.nbytes), np.uint8)
            self.calls.bind(self.meta.ctypes.data, self.meta.size, self.data.ctypes.data, self.data.nbytes)
            for layout in self.layouts.values():  # their views are of the old areas
                layout.reading = None
            result = int(self.calls.fetch())
        self.unreleased += result >> 1
        return bool(result & 1)

    def _reading(self, layout: _Layout, changed: bool) -> dict:
        """The last call's outputs: name -> view in the data area (read from the meta area when new)."""
        if changed or layout.reading is None:
            layout.reading = {}
            values, m = self.meta[:int(self.meta[1])].tolist(), 2
            for name in layout.outputs:
                code, rank = values[m], values[m + 1]
                shape, offset, nbytes = tuple(values[m + 2:m + 2 + rank]), values[m + 2 + rank], values[m + 3 + rank]
                m += 4 + rank
                if code != SKIPPED:  # strings and other non-numeric outputs are not compared
                    dtype = TYPES[code]
                    layout.reading[name] = np.frombuffer(self.data, dtype, nbytes // dtype.itemsize, offset).reshape(shape)
        return layout.reading

    def _layout(self, signature: str, feeds: dict) -> _Layout:
        key = (signature, *[(name, "S" if value.dtype.kind == "S" else value.dtype.str, value.shape)
                            for name, value in feeds.items()])
        return self.layouts.get(key) or self._prepare(key, signature, feeds)

    def _prepare(self, key: tuple, signature: str, feeds: dict) -> _Layout:
        """The header of this layout; small inputs get a place in a stage of their own."""
        words, slots, stage_bytes = [0], [], 0
        for name, value in feeds.items():
            if value.dtype.kind == "S":  # address and byte count are filled per call
                if value.shape != ():
                    raise RuntimeFailure(f"input {name!r}: only scalar strings go to TF Java, got shape {value.shape}")
                words += [STRING, 0, 0, 0]
                slots.append((name, len(words) - 2, None))
                continue
            code = CODES.get(value.dtype)
            if code is None:
                raise RuntimeFailure(f"no TF Java type for numpy dtype {value.dtype}")
            words += [code, value.ndim, *value.shape, 0, value.nbytes]
            if value.nbytes <= STAGED:
                slots.append((name, len(words) - 2, stage_bytes))
                stage_bytes += (value.nbytes + 63) // 64 * 64
            else:
                slots.append((name, len(words) - 2, None))
        words[0] = len(words)
        header = np.array(words, np.int64)
        stage = np.empty(max(stage_bytes, 1), np.uint8)
        staged, direct = [], []
        for name, at, offset in slots:
            if offset is None:
                direct.append((name, at))
            else:
                value = feeds[name]
                view = np.frombuffer(stage, value.dtype, value.size, offset).reshape(value.shape)
                header[at] = stage.ctypes.data + offset
                staged.append((name, view))
        handle = int(self.calls.prepare(signature, self.java.Strings(list(feeds))))
        outputs = [str(n) for n in self.calls.outputs(handle)]
        layout = _Layout(handle, outputs, header, {name: at for name, at, _ in slots}, staged, direct)
        self.layouts[key] = layout
        return layout

    def save_variables(self, directory: Path) -> str:
        directory.mkdir(parents=True, exist_ok=True)  # Session.save does not create it
        prefix = str(directory / "variables")
        self.bundle.session().save(prefix)
        return prefix

    def restore_variables(self, prefix: str) -> None:
        self.bundle.session().restore(prefix)

    def export(self, directory: Path) -> str:
        """A whole new SavedModel of the current state (SavedModelBundle.exporter)."""
        functions = [f for f in self.bundle.functions() if not str(f.signature().key()).startswith("__")]
        exporter = self.java.SavedModelBundle.exporter(str(directory)).withSession(self.bundle.session())
        exporter.withFunctions(*functions).export()
        return str(directory)

    def close(self):
        self.bundle.close()


class JavaHost(worker.Host):
    java: Java

    def __init__(self):
        self.steppers: dict = {}  # jar -> TrainExport.Stepper class (plain_java)

    def start(self, message: dict) -> dict:
        self.java = Java(message["classpath"])
        return {"tensorflow": str(self.java.TensorFlow.version()),
                "java": str(self.java.System.getProperty("java.version")),
                "jvm": str(self.java.System.getProperty("java.vm.name"))}

    def open(self, saved_model: Path, message: dict) -> JavaSession:
        return JavaSession(self.java, saved_model, message["threads"], worker.tags_of(message))

    def plain_java(self, saved_model: Path, message: dict):
        """TrainExport.Stepper, the plain-Java CLI's bench step, loaded from its jar into this JVM (once per jar)."""
        jpype, plain = self.java.jpype, message["plain_java"]
        if plain["jar"] not in self.steppers:
            url = jpype.JClass("java.io.File")(plain["jar"]).toURI().toURL()
            parent = jpype.JClass("java.lang.ClassLoader").getSystemClassLoader()  # TF Java's classes
            loader = jpype.JClass("java.net.URLClassLoader")([url], parent)
            self.steppers[plain["jar"]] = jpype.JClass("dev.conformance.TrainExport$Stepper", loader=loader)
        interface = message["interface"]
        return self.steppers[plain["jar"]](str(saved_model), plain["inputs"], interface["train"], interface["loss"],
                                           message["threads"])

    def echo(self, array: np.ndarray) -> np.ndarray:
        out = worker.reply_array(array.shape, array.dtype)  # in shared memory: the reply carries it without a copy
        self.java.echo(array, out)
        return out


HOST = JavaHost  # what harness.testing.planted_worker wraps (test-only)

if __name__ == "__main__":
    worker.serve(JavaHost())
