"""Lists the ops of an export before anything runs it, and refuses ops with effects outside the model.

Every graph and every library function of every meta graph is read from saved_model.pb (the
export is not loaded). Ops that read or write files, print, reach the network or call back into
Python are refused unless allowed by name (`--allow-op NAME`); the checkpoint machinery the
harness itself drives (SaveV2, RestoreV2, MergeV2Checkpoints, ShardedFilename, StringJoin, ...)
is not. TensorFlow has no op that starts a process: a Python callback (py_function) is how a
graph would, so those are refused. The list starts from `saved_model_cli scan`'s
(ReadFile, WriteFile, PrintV2) and adds what TensorFlow's op registry has of the same kind.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import HarnessError

_READS = "reads files"
_WRITES = "writes files"
_PYTHON = "calls back into Python"
_NETWORK = "talks to other processes over the network"

DENIED: dict[str, str] = {
    # files, read
    "ReadFile": _READS, "MatchingFiles": "lists files", "ImmutableConst": "maps a file into memory",
    "InitializeTableFromTextFile": _READS, "InitializeTableFromTextFileV2": _READS,
    "GenerateVocabRemapping": _READS, "LoadAndRemapMatrix": "reads a checkpoint outside the export's save/restore",
    "Skipgram": _READS, "RecordInput": _READS,
    "DecodeProtoV2": "may read a descriptor file (descriptor_source)", "EncodeProto": "may read a descriptor file (descriptor_source)",
    "WholeFileReader": _READS, "WholeFileReaderV2": _READS, "TextLineReader": _READS, "TextLineReaderV2": _READS,
    "TFRecordReader": _READS, "TFRecordReaderV2": _READS, "FixedLengthRecordReader": _READS,
    "FixedLengthRecordReaderV2": _READS, "LMDBReader": _READS,
    "ReaderRead": _READS, "ReaderReadV2": _READS, "ReaderReadUpTo": _READS, "ReaderReadUpToV2": _READS,
    "TFRecordDataset": _READS, "TFRecordDatasetV2": _READS, "TextLineDataset": _READS,
    "FixedLengthRecordDataset": _READS, "FixedLengthRecordDatasetV2": _READS,
    "CSVDataset": _READS, "CSVDatasetV2": _READS, "ExperimentalCSVDataset": _READS,
    "LMDBDataset": _READS, "ExperimentalLMDBDataset": _READS, "SqlDataset": "opens a database file",
    "ExperimentalSqlDataset": "opens a database file", "MatchingFilesDataset": "lists files",
    "ExperimentalMatchingFilesDataset": "lists files", "LoadDataset": _READS,
    "SnapshotDataset": "reads and writes files", "SnapshotDatasetV2": "reads and writes files",
    "SnapshotDatasetReader": _READS, "SnapshotNestedDatasetReader": _READS, "SnapshotChunkDataset": _READS,
    "ListSnapshotChunksDataset": "lists files", "CacheDataset": "may write cache files",
    "CacheDatasetV2": "may write cache files",
    # files, written
    "WriteFile": _WRITES, "SaveDataset": _WRITES, "SaveDatasetV2": _WRITES, "DatasetToTFRecord": _WRITES,
    "ExperimentalDatasetToTFRecord": _WRITES, "DistributedSave": _WRITES,
    "CreateSummaryFileWriter": _WRITES, "CreateSummaryDbWriter": _WRITES, "WriteSummary": _WRITES,
    "WriteScalarSummary": _WRITES, "WriteHistogramSummary": _WRITES, "WriteImageSummary": _WRITES,
    "WriteAudioSummary": _WRITES, "WriteGraphSummary": _WRITES, "WriteRawProtoSummary": _WRITES,
    "ImportEvent": _WRITES, "FlushSummaryWriter": _WRITES, "CloseSummaryWriter": _WRITES,
    "StatsAggregatorSetSummaryWriter": _WRITES,
    "DebugIdentity": "writes debug dumps", "DebugIdentityV2": "writes debug dumps",
    "DebugIdentityV3": "writes debug dumps", "DebugNanCount": "writes debug dumps",
    "DebugNumericSummary": "writes debug dumps", "Copy": "may write debug dumps", "CopyHost": "may write debug dumps",
    "FileSystemSetConfiguration": "reconfigures a file system",
    # standard output and error (PrintV2 may also append to a file)
    "Print": "prints to standard error", "PrintV2": "prints, to standard error or a file",
    # Python
    "PyFunc": _PYTHON, "PyFuncStateless": _PYTHON, "EagerPyFunc": _PYTHON,
    # other processes
    "RpcServer": _NETWORK, "RpcServerStart": _NETWORK, "RpcServerRegister": _NETWORK, "RpcClient": _NETWORK,
    "RpcCall": _NETWORK, "DataServiceDataset": _NETWORK, "DataServiceDatasetV2": _NETWORK,
    "DataServiceDatasetV3": _NETWORK, "DataServiceDatasetV4": _NETWORK, "RegisterDataset": _NETWORK,
    "RegisterDatasetV2": _NETWORK, "RemoteCall": "runs a function on another task",
}
# Reads and writes files, but only what the harness asks of the save/restore signatures and the saver.
CHECKPOINT_OPS = frozenset({"SaveV2", "RestoreV2", "MergeV2Checkpoints", "ShardedFilename", "ShardedFilespec",
                            "StringJoin", "Save", "SaveSlices", "Restore", "RestoreSlice", "StaticRegexFullMatch"})


@dataclass(frozen=True)
class Finding:
    op: str
    where: str  # "function '<name>'" or "graph" (prefixed with the meta graph's tags when there are several)
    signatures: tuple[str, ...]  # signatures that run it (empty: none does; the loader or saver might)
    reason: str

    def describe(self) -> str:
        by = f", run by signature {', '.join(map(repr, self.signatures))}" if self.signatures else ""
        return f"op {self.op!r} ({self.reason}) in {self.where}{by}"


@dataclass(frozen=True)
class ScanReport:
    saved_model: Path
    ops: dict[str, dict[str, int]]  # where (as in Finding.where) -> op -> how many nodes
    refused: tuple[Finding, ...]  # denied or unregistered ops not in the allow set
    allowed: tuple[Finding, ...]  # denied or unregistered ops let through by the allow set

    @property
    def pb(self) -> Path:
        return self.saved_model / "saved_model.pb"

    def all_ops(self) -> set[str]:
        return {op for counts in self.ops.values() for op in counts}

    def check(self) -> None:
        """Raises a HarnessError naming every refused op, where it is and the file."""
        if self.refused:
            names = sorted({f.op for f in self.refused})
            raise HarnessError(f"{self.pb}: refusing to run this export: "
                               + "; ".join(f.describe() for f in self.refused)
                               + f". If that is intended, pass {' '.join('--allow-op ' + n for n in names)}")


def scan(saved_model: Path, allow: set[str] | frozenset = frozenset()) -> ScanReport:
    """The ops of every graph and function of `saved_model`, and the ones to refuse (see the module docstring)."""
    from tensorflow.python.framework import op_def_registry

    from .discover import Graph, read_saved_model

    saved_model = Path(saved_model)
    pb, proto = read_saved_model(saved_model)
    ops: dict[str, dict[str, int]] = {}
    found: list[Finding] = []
    several = len(proto.meta_graphs) > 1
    for meta in proto.meta_graphs:
        prefix = f"meta graph {sorted(meta.meta_info_def.tags)}: " if several else ""
        graph = Graph(meta)
        reaches = {name: graph.reach([i.name for i in sig.outputs.values() if i.WhichOneof("encoding") == "name"])
                   for name, sig in meta.signature_def.items() if not name.startswith("__")}
        places = [(prefix + "graph", list(meta.graph_def.node), None)]
        places += [(prefix + f"function {f.signature.name!r}", list(f.node_def), f.signature.name)
                   for f in meta.graph_def.library.function]
        for where, nodes, fname in places:
            ops[where] = dict(Counter(n.op for n in nodes))
            for op in sorted(ops[where]):
                if op in DENIED:
                    reason = DENIED[op]
                elif op not in graph.library and op_def_registry.get(op) is None:
                    reason = "not registered in this TensorFlow (a custom op?): what it does cannot be told"
                else:
                    continue
                if fname is None:  # a graph (TF1): the signatures whose walk reaches a node of this op
                    names = {n.name for n in nodes if n.op == op}
                    by = [s for s, r in reaches.items() if r.graph_nodes & names]
                else:
                    by = [s for s, r in reaches.items() if fname in r.functions]
                found.append(Finding(op, where, tuple(sorted(by)), reason))
    unknown = sorted(set(allow) - set(DENIED) - {f.op for f in found})
    if unknown:
        raise HarnessError(f"--allow-op {', '.join(unknown)}: not an op the scan refuses, nor one found in {pb} "
                           f"(refused there: {', '.join(sorted({f.op for f in found})) or 'nothing'})")
    return ScanReport(saved_model, ops, tuple(f for f in found if f.op not in allow), tuple(f for f in found if f.op in allow))


def check(saved_model: Path, allow: set[str] | frozenset = frozenset()) -> ScanReport:
    """scan(), then refuse (HarnessError) if an op not allowed was found; returns the report."""
    report = scan(saved_model, allow)
    report.check()
    return report
