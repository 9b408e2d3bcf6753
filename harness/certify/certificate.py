"""Certify a user's training export: is it trainable, and the same, outside Python?

Before anything runs: the export's ops are scanned (scan.py: models are programs; ops that touch
files, processes or Python are refused unless allowed), its signatures discovered (discover.py:
which one trains, its loss, inference, save/restore), its data read or made up (certify_data.py).
Then every runtime trains a copy of it (the export itself is only read) and the certificate folder
gets certificate.json, the reports, and the command a Java team reruns without Python.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from .. import atomic, checks
from ..plan import checkpoints
from ..runs import expectations
from .certify_data import CertifyData, from_npz, synthesize
from .discover import Discovery, discover, read_meta_graph
from ..errors import HarnessError
from ..runs.runner import PASS, Export, Result
from .scan import ScanReport
from .scan import check as scan_check
from ..runs.versions import TF_PYTHON

OVERRIDES = ("train", "predict", "save", "restore", "loss", "get_weights", "set_weights")


@dataclass
class Prepared:
    export: Export
    scan: ScanReport
    discovery: Discovery
    data: CertifyData
    source: Path  # the user's export (never written)
    written_by: str  # the TF version recorded in the export ("" if none)
    planted: str | None = None  # test-only: the runtime fault planted in this run (--plant-fault)


def prepare(args, work: Path) -> Prepared:
    """Everything that can be wrong with the input, found before any runtime starts (HarnessError: exit 2)."""
    source = Path(args.saved_model).resolve()
    if not source.is_dir():
        raise HarnessError(f"{source}: export directory does not exist")
    if args.steps <= 0 or args.resume_steps <= 0:
        raise HarnessError("--steps and --resume-steps must be positive")
    report = scan_check(source, set(args.allow_op or ()))
    tags = tuple(args.tags.split(",")) if args.tags else None
    discovery = discover(source, {key: getattr(args, key) for key in OVERRIDES if getattr(args, key) is not None}, tags)
    wanted = args.steps + args.resume_steps
    if args.data:
        data = from_npz(args.data, discovery, wanted)
    else:
        data = synthesize(discovery, wanted, batch=args.batch, int_range=tuple(args.int_range) if args.int_range else None)
    steps, resume_steps = _split(data.steps, args.steps, args.resume_steps, args.data or source)
    variables = source / "variables" / "variables"
    if (variables.parent / "variables.index").exists():
        checkpoints.read(variables)  # a truncated or corrupt data file fails here, by name
    copy = work / "export" / source.name
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(source, copy)  # the runtimes work on a copy: nothing can write into the user's export
    if discovery.train_op:  # trained by op: the copy gets the signature discovery called it by
        from .discover import write_train_signature

        write_train_signature(copy, discovery.interface.tags, discovery.train_op)
    _, meta = read_meta_graph(source, discovery.interface.tags)
    export = Export(source.name, copy, data.data, steps, resume_steps, TF_PYTHON, discovery.interface)
    return Prepared(export, report, discovery, data, source, meta.meta_info_def.tensorflow_version)


def settle(prepared: Prepared, results: list[Result]) -> None:
    """Before the verdict: resumes certify cannot compare like with like, said why (N/A), never failed. A train
    step whose random draws no checkpoint carries resumes onto another path than the uninterrupted run; only
    Python's own resume through the same checkpoint is a fair baseline (runner.own_resumes), and when Python
    cannot resume from its own checkpoint there is none."""
    d = prepared.discovery
    python = prepared.export.reference_runtime
    own = next((r for r in results if r.runtime == python and r.check == "resume.loss"), None)
    if not d.train_random or own is None or own.outcome == PASS or "fidelity" in own.notes:
        return
    why = (f"the train step draws random numbers whose state no checkpoint carries ({', '.join(d.train_random)}), and "
           f"{python} cannot resume from its own checkpoint to compare like with like ({own.detail}): not checked")
    for r in results:
        if r.check in ("resume.loss", "resume.variables") and r.comparison is not None and not r.comparison.ok:
            r.outcome, r.detail, r.passed, r.comparison = "N/A", why, None, None


def _split(available: int, steps: int, resume_steps: int, where) -> tuple[int, int]:
    """Steps to train, then to resume, within what the data holds (at least one of each)."""
    if available >= steps + resume_steps:
        return steps, resume_steps
    if available < 2:
        raise HarnessError(f"{where}: the data holds {available} training step(s); certify needs at least 2 "
                           f"(train, then resume from what a runtime saved)")
    resume_steps = max(1, min(resume_steps, available // 3))
    return available - resume_steps, resume_steps


UNDECIDED = ("not certified: the data made up from the signatures is not valid for this export (the Python reference "
             "itself fails on it, see why); give the integer inputs' range (--int-range LOW HIGH) or real data (--data FILE)")


IRREPRODUCIBLE = ("not certified: two Python runs of the same training steps differ (the train step draws random "
                  "numbers no seed fixes, see why), so no runtime can be compared with another step by step; make the "
                  "step reproducible and certify again")


def write(out: Path, prepared: Prepared, results: list[Result], facts: dict, work: Path) -> Path:
    """certificate.json and rerun-java/ (the plain-Java run, to take away) beside the reports; returns the certificate's path."""
    from ..runtimes import is_on_device

    device = [r for r in results if is_on_device(r.runtime)]  # reported beside the verdict (on_device)
    results = [r for r in results if not is_on_device(r.runtime)]
    failing = [r for r in results if r.outcome not in (PASS, "N/A")]
    not_applicable = [r for r in results if r.outcome == "N/A"]
    # Made-up data the reference itself cannot train on (a class id beyond the labels' range) is the harness's
    # limit, not the export's failure: no verdict, and what to give instead.
    invalid_data = prepared.data.source == "synthesized" and any(r.check == "reference" and r.passed is False
                                                                  for r in results)
    # A train step that is not reproducible (unseeded random draws) cannot be compared step by step: no verdict.
    irreproducible = any(r.check == "reference.deterministic" and r.passed is False for r in results)
    undecided = invalid_data or irreproducible
    d = prepared.discovery
    rerun = _java_rerun(out, prepared, work)
    certificate = {
        "export": str(prepared.source),
        "written_by_tensorflow": prepared.written_by,
        "verdict": UNDECIDED if invalid_data else IRREPRODUCIBLE if irreproducible
        else "trainable and conformant in every runtime" if not failing
        else "not conformant",
        "ok": not failing,
        "undecided": undecided,
        "runtimes": facts,
        "discovery": {"interface": d.interface.to_dict(), "saver_def": d.saver_def, "notes": list(d.notes),
                      "variables_trained": list(d.train_updates),
                      "inputs": {sig: [s.describe() for s in specs] for sig, specs in d.inputs.items()}},
        "scan": {"ops": sorted(prepared.scan.all_ops()),
                 "allowed": [f"{f.op} in {f.where}: {f.reason}" for f in prepared.scan.allowed]},
        "data": {"source": prepared.data.source, "notes": list(prepared.data.notes),
                 "steps": prepared.export.steps, "resume_steps": prepared.export.resume_steps},
        "not_applicable": [{"id": r.id, "why": r.detail, "for_a_java_team": _meaning(r.check)} for r in not_applicable],
        "failing": [{"id": r.id, "outcome": r.outcome, "detail": r.detail, **_cause(r, failing)} for r in failing],
        "resume": conventions(d, results, prepared.export.reference_runtime),
        "trains_randomly": list(d.train_random),
        "rerun_java": f"sh {rerun.relative_to(out)}" if rerun else None,
        "planted_fault": prepared.planted,
        "on_device": on_device(device),
    }
    path = out / "certificate.json"
    atomic.write_json(path, certificate)
    return path


JAVA_RERUN = "rerun-java"  # the folder of the certificate a Java team takes away


def _java_rerun(out: Path, prepared: Prepared, work: Path) -> Path | None:
    """The plain-Java run as a folder that travels (plain_java.travelling): its rerun.sh, or None without one."""
    from ..runtimes import plain_java

    runs = sorted(p.parent for p in work.glob(f"*/{prepared.export.name}/java-plain-*/{plain_java.TRAVELS}"))
    for workdir in runs:
        try:
            return plain_java.travelling(workdir, out / JAVA_RERUN)
        except HarnessError:  # a TF Java a pom cannot pin (API+native-N): the next one, if any
            continue
    return None


def conventions(d: Discovery, results: list[Result], python: str) -> dict:
    """Per checkpoint convention the export has: the variables train changes that it carries, what it leaves
    out (from the graph: the variables its restore writes), and whether Python's own resume through it differs
    from the uninterrupted run (runner.own_resumes: a finding, the runtimes are compared with that resume)."""
    iface = d.interface
    # What the saver's restore op writes (a TF1 Saver may list fewer variables than train changes); when the
    # graph does not say which (unresolved), every variable of the checkpoint.
    saver = set(d.saver_restores or ()) & set(d.train_updates) or set(d.train_updates)
    restored = {"saver": saver if d.saver_def else None,
                "signature": set(d.written.get(iface.restore, ())) if iface.save and iface.restore else None,
                "weights": set(d.written.get(iface.set_weights, ())) if iface.get_weights and iface.set_weights else None}
    findings = {r.notes["fidelity"]["convention"]: r.notes["fidelity"]["differs"] for r in results
                if r.runtime == python and "fidelity" in r.notes}
    out = {}
    for way, carried in restored.items():
        if carried is None:
            continue
        missing = sorted(set(d.train_updates) - carried)
        leaves_out = {}
        for variable in missing:
            # From the dataflow: a counter counts; the loss and inference read the model's variables; an optimizer's slots go
            # into other variables' updates; what does neither (a metric's running total, moving statistics) is a
            # statistic train keeps.
            model = set(d.inference_reads or d.loss_reads)  # inference, where there is one, says best
            what = ("iteration counter" if variable in d.counters else "variables" if variable in model
                    else "optimizer slots" if variable in d.feeds_writes else "non-trainable statistics")
            leaves_out.setdefault(what, []).append(variable)
        if d.train_random:
            leaves_out["random state"] = list(d.train_random)
        differs = findings.get(way) or (findings.get("resume") if way == "saver" else None)
        out[way] = {"carries": sorted(carried & set(d.train_updates)), "leaves_out": leaves_out,
                    "python_resume_differs": differs}
    return out


def on_device(results: list[Result]) -> dict:
    """Per on-device runtime (tflite-X): whether the export trains there (every check passes or does not
    apply), the largest error of its comparisons, and else its first failing check with the known cause."""
    out = {}
    for runtime in dict.fromkeys(r.runtime for r in results):
        mine = [r for r in results if r.runtime == runtime]
        failing = [r for r in mine if r.outcome not in (PASS, "N/A")]
        scaled = max((r.comparison.max_scaled for r in mine if r.comparison is not None), default=0.0)
        out[runtime] = {"trains": not failing, "max_scaled_error": scaled,
                        "bit_exact": [r.check for r in mine if r.comparison is not None and r.comparison.max_ulp == 0],
                        "first_failure": ({"id": failing[0].id, "detail": failing[0].detail, **_cause(failing[0], failing)}
                                          if failing else None)}
    return out


def _cause(result: Result, failing: list[Result]) -> dict:
    """A failing check's known cause and what to change (expectations/causes.toml), or that none is known.

    A part's losses (resume.loss, restore.<way>.loss) that diverge because the variables it trained on
    were not the ones saved have that part's .variables check's cause: only the variables name it."""
    if result.outcome != "FAIL":  # blocked: the cause is that of the check it is blocked by
        return {}
    causes = expectations.load_causes()
    known = expectations.explain(result.detail, causes)
    if known is None and result.check.endswith(".loss") and result.detail.startswith("diverged"):
        sibling = result.check[:-len("loss")] + "variables"
        same_part = [r for r in failing
                     if (r.runtime, r.case, r.check, r.outcome) == (result.runtime, result.case, sibling, "FAIL")]
        known = next((c for r in same_part for c in [expectations.explain(r.detail, causes)] if c), None)
    if known is None:
        return {"cause": {"id": None, "cause": f"unknown cause; the raw error: {result.detail}", "fix": None, "links": []}}
    return {"cause": known.to_dict()}


def _meaning(check: str) -> str:
    """What a check that does not apply means for a team that trains the export in Java (checks.py)."""
    return checks.find(check).meaning or "not checked for this export"


def summary(prepared: Prepared, certificate: Path, ok: bool) -> str:
    d = prepared.discovery
    lines = [f"Certify {prepared.source}" + (f" (written by TF {prepared.written_by})" if prepared.written_by else ""),
             *(f"  found: {note}" for note in d.notes), *(f"  {note}" for note in prepared.data.notes)]
    causes: dict = {}  # one paragraph per known cause, with the checks it explains
    written = json.loads(certificate.read_text())
    for failing in written["failing"]:
        if "cause" in failing:
            causes.setdefault(failing["cause"]["id"] or failing["detail"], (failing["cause"], []))[1].append(failing["id"])
    for cause, ids in causes.values():
        lines.append(f"  why {', '.join(ids)}: {cause['cause']}")
        if cause["fix"]:
            lines.append(f"    what to change: {cause['fix']} ({', '.join(cause['links'])})")
    for way, found in written.get("resume", {}).items():
        left = "; ".join(f"{what} ({', '.join(names)})" for what, names in found["leaves_out"].items())
        line = f"  resume through the {way}: " + (f"leaves out {left}" if left else "carries every variable train changes")
        if found["python_resume_differs"]:
            line += (f"; Python's own resume through it differs from the uninterrupted run ({found['python_resume_differs']}): "
                     f"a finding, not a failure; every runtime is compared with that resume")
        lines.append(line)
    verdict = written["verdict"] if written.get("undecided") else \
        "trainable and conformant in every runtime" if ok else "NOT conformant (see above)"
    lines += [f"  verdict: {verdict}", f"  certificate: {certificate}"]
    if not ok and prepared.data.source == "synthesized" and not written.get("undecided"):
        lines.append("  note: the data was made up from the signatures; if an integer input is a class id or an index, "
                     "give its range (--int-range LOW HIGH) or real data (--data FILE)")
    for runtime, device in written.get("on_device", {}).items():
        if device["trains"]:
            lines.append(f"  on device: trains with {runtime} (norm-wise error <= {device['max_scaled_error']:.2g})")
        else:
            failure = device["first_failure"]
            lines.append(f"  on device: does not train with {runtime}: {failure['id'].split('/')[-1]}: {failure['detail']}")
            fix = failure.get("cause", {}).get("fix")
            if fix:
                lines.append(f"    what to change: {fix}")
    rerun = certificate.parent / JAVA_RERUN / "rerun.sh"
    if rerun.exists():
        lines.append(f"  a Java team reruns it with Java 17 and Maven only, anywhere (the folder travels): sh {rerun}")
    return "\n".join(lines)
