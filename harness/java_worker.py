"""The TF Java runtime's worker process: imports jpype and numpy, never tensorflow.

Served by worker.serve (the protocol is there). Two TensorFlow builds (a Python wheel's and TF
Java's) never share an address space. Tensors cross as buffers: numpy memory is wrapped as a
direct ByteBuffer and bulk-copied into a TF Java tensor (and back), never element by element.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import worker


class Java:
    """The TF Java classes this worker uses, imported once the JVM is up."""

    def __init__(self, classpath: list[str]):
        import jpype

        jpype.startJVM(jvm_path(), classpath=classpath, convertStrings=False)
        # JClass, not `import java...`: the repository's java/ folder would shadow that package name.
        J = jpype.JClass
        self.jpype = jpype
        self.System, self.LinkedHashMap = J("java.lang.System"), J("java.util.LinkedHashMap")
        self.Pointer = J("org.bytedeco.javacpp.Pointer")
        self.SavedModelBundle, self.Tensor = J("org.tensorflow.SavedModelBundle"), J("org.tensorflow.Tensor")
        self.TensorFlow, self.Shape = J("org.tensorflow.TensorFlow"), J("org.tensorflow.ndarray.Shape")
        self.DataBuffers = J("org.tensorflow.ndarray.buffer.DataBuffers")
        self.ConfigProto, self.TString = J("org.tensorflow.proto.ConfigProto"), J("org.tensorflow.types.TString")
        self.types = {np.dtype(t): J(f"org.tensorflow.types.{name}") for t, name in
                      [(np.float16, "TFloat16"), (np.float32, "TFloat32"), (np.float64, "TFloat64"), (np.int32, "TInt32"),
                       (np.int64, "TInt64"), (np.bool_, "TBool")]}
        self.dtypes = {str(cls.class_.getName()): dtype for dtype, cls in self.types.items()}
        # The first tensor TF Java ever creates leaves one native pointer alive for good (a lazy
        # singleton, measured). Create it now so the per-call pointer accounting starts at rest.
        self.to_tensor(np.zeros(1, np.float32)).close()

    def to_tensor(self, array: np.ndarray):
        if array.dtype.kind == "S":  # a scalar string, e.g. a checkpoint path
            return self.TString.scalarOf(array.item().decode())
        array = np.require(array, requirements="C")  # not ascontiguousarray: that turns a 0-d array into 1-d
        kind = self.types.get(array.dtype)
        if kind is None:
            raise TypeError(f"no TF Java type for numpy dtype {array.dtype}")
        raw = self.DataBuffers.of(self.jpype.nio.convertToDirectBuffer(array.reshape(-1).view(np.uint8)))
        return self.Tensor.of(kind.class_, self.Shape.of(*[int(d) for d in array.shape]), raw)

    def to_numpy(self, tensor) -> np.ndarray | None:
        dtype = self.dtypes.get(str(tensor.type().getName()))
        if dtype is None:
            return None  # strings and other non-numeric outputs are not compared
        out = np.empty(tuple(int(d) for d in tensor.shape().asArray()), dtype)
        target = self.DataBuffers.of(self.jpype.nio.convertToDirectBuffer(out.reshape(-1).view(np.uint8)))
        tensor.asRawTensor().data().copyTo(target, out.nbytes)
        return out


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


class JavaSession:
    """A SavedModelBundle driven through its signatures (SessionFunction) and Session.save."""

    def __init__(self, java: Java, saved_model: Path, threads: int):
        self.java = java
        config = (java.ConfigProto.newBuilder().setIntraOpParallelismThreads(threads)
                  .setInterOpParallelismThreads(threads).build())
        self.bundle = java.SavedModelBundle.loader(str(saved_model)).withTags("serve").withConfigProto(config).load()
        self.unreleased = 0  # native pointers (tensors) still alive after a call: must stay 0

    def call(self, signature, feeds):
        java = self.java
        before = java.Pointer.totalCount()
        function = self.bundle.function(signature)
        arguments = java.LinkedHashMap()
        tensors = []
        try:
            for key, value in feeds.items():
                tensors.append(java.to_tensor(value))
                arguments.put(key, tensors[-1])
            with function.call(arguments) as result:
                outputs = {str(entry.getKey()): java.to_numpy(entry.getValue()) for entry in result}
        finally:
            for tensor in tensors:
                tensor.close()
        # Closing is synchronous, so what this call left alive shows as growth; a drop is only
        # JavaCPP's collector freeing older garbage meanwhile, and is not counted against the call.
        self.unreleased += max(0, java.Pointer.totalCount() - before)
        return {k: v for k, v in outputs.items() if v is not None}

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

    def start(self, message: dict) -> dict:
        self.java = Java(message["classpath"])
        return {"tensorflow": str(self.java.TensorFlow.version()),
                "java": str(self.java.System.getProperty("java.version")),
                "jvm": str(self.java.System.getProperty("java.vm.name"))}

    def open(self, saved_model: Path, message: dict) -> JavaSession:
        return JavaSession(self.java, saved_model, message["threads"])

    def echo(self, array: np.ndarray) -> np.ndarray:
        tensor = self.java.to_tensor(array)
        try:
            return self.java.to_numpy(tensor)
        finally:
            tensor.close()


if __name__ == "__main__":
    worker.serve(JavaHost())
