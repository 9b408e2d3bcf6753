"""Synthetic JSON reports of the shape the runner writes, for the report, HTML and merge tests.

Each cell (export x runtime) is built from a kind, and the builder remembers what the matrix must
say about it (`expected`), so tests compare renderings with the intent, not with a recorded run.
Losses are real numbers in their dtype; comparisons are computed by harness.plan.compare from them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from harness.plan import compare
from harness.reports import report

RUNTIMES = ("python-2.21.0", "python-session-2.21.0", "java-1.1.0", "java-1.2.0")
CHECKS = ("load", "train.loss", "predict", "checkpoint.saver", "checkpoint.signature", "resume.loss", "resume.variables")
LINK = "https://github.com/tensorflow/tensorflow/issues/72963"
STATE_OF_KIND = {"exact": "exact", "within": "within", "diverged": "fail", "xfail": "xfail", "xpass": "xpass",
                 "fail": "fail", "blocked": "blocked", "na": "na", "none": "none"}


def nudged(values: np.ndarray, ulps: list[int]) -> np.ndarray:
    """values[i] moved up by ulps[i] units in the last place of its dtype."""
    out = values.copy()
    for i, n in enumerate(ulps):
        for _ in range(n):
            out[i] = np.nextafter(out[i], np.array(np.inf, dtype=values.dtype))
    return out


class Synthetic:
    def __init__(self, runtimes=RUNTIMES, steps: int = 8, seconds: float = 12.3):
        self.runtimes = list(runtimes)
        self.steps = steps
        self.seconds = seconds
        self.results: list[dict] = []
        self.trajectories: list[dict] = []
        self.drift: list[dict] | None = None
        self.expected: dict[tuple[str, str, str], str] = {}  # (exporter, case, runtime) -> cell state
        self.ulps: dict[tuple[str, str, str], list[int]] = {}  # per-step ulps planted in a runtime's losses
        self.environment = {"tensorflow_python": "2.21.0", "cpu": "Synthetic CPU @ 1 GHz", "threads": {"intra_op": 1},
                            "runtimes": {rt: {"tensorflow": "2.21.0"} for rt in self.runtimes}}

    def expectation(self, runtime: str, glob: str, reason: str) -> dict:
        return {"file": "expectations/expected_failures.toml", "case": glob, "reason": reason, "links": [LINK]}

    def _result(self, exporter, runtime, case, check, outcome, detail="ok", comparison=None, expectation=None):
        test_id = f"{case}.{check}" if case else check
        self.results.append({"id": "/".join(p for p in (exporter, runtime, test_id) if p), "exporter": exporter,
                             "runtime": runtime, "case": case, "check": check, "outcome": outcome, "detail": detail,
                             "comparison": comparison, "expectation": expectation})

    def setup_failure(self, runtime: str, expected: bool = True) -> None:
        detail = f"{runtime}: Maven cannot resolve org.tensorflow:tensorflow-core-api (404)"
        self._result("", runtime, "", "setup", report.XFAIL if expected else report.FAIL, detail,
                     expectation=self.expectation(runtime, "setup", "TF Java 1.2.0 is not on Maven Central") if expected else None)

    def export(self, exporter: str, case: str, dtype: str = "float32", nondeterministic: bool = False, **kinds) -> None:
        """kinds: runtime (with '-' and '.' as '_', e.g. java_1_1_0) -> "exact" (default), ("within", ulps),
        ("diverged", step), "xfail", "xpass", "fail", "blocked", "na", "none"."""
        kinds = {rt: kinds.get(rt.replace("-", "_").replace(".", "_"), "exact") for rt in self.runtimes}
        seed = sum(map(ord, exporter + case))
        rng = np.random.default_rng(seed)
        steps = np.arange(self.steps)
        losses = (0.4 + 0.6 * np.exp(-0.35 * steps) + 0.02 * rng.random(self.steps)).astype(dtype)
        weights = rng.standard_normal(6).astype(dtype)
        reference, *_ = self.runtimes
        self.trajectories.append({"exporter": exporter, "case": case, "runtime": reference, "check": "reference",
                                  "role": "reference", "first_step": 0, "dtype": dtype,
                                  "losses": [float(v) for v in losses]})
        self._result(exporter, reference, case, "reference", report.PASS)
        if nondeterministic:
            self._result(exporter, reference, case, "reference.deterministic", report.XFAIL,
                         "two Python runs of the same steps differ: diverged",
                         expectation=self.expectation(reference, f"{case}.reference.deterministic", "unseeded dropout"))
            for rt in self.runtimes:
                for check in CHECKS:
                    self._result(exporter, rt, case, check, report.BLOCKED, f"blocked by {case}.reference.deterministic")
                self.expected[(exporter, case, rt)] = "xfail" if rt == reference else "blocked"
            return
        self._result(exporter, reference, case, "reference.deterministic", report.PASS, "bit-exact")
        for rt in self.runtimes:
            kind = kinds[rt]
            name, arg = (kind, None) if isinstance(kind, str) else kind
            self.expected[(exporter, case, rt)] = STATE_OF_KIND[name]
            self._cell(exporter, case, rt, name, arg, losses, weights, dtype)

    def _cell(self, exporter, case, rt, kind, arg, losses, weights, dtype):
        def add(check, outcome, detail="ok", comparison=None, expectation=None):
            self._result(exporter, rt, case, check, outcome, detail, comparison, expectation)

        def measured(check, want, got, relative=0.0, labels=None, expectation=None, xpass=False):
            c = compare.compare(want, got, relative, labels)
            outcome = (report.XPASS if xpass else report.PASS) if c.ok else report.FAIL
            add(check, outcome, c.summary(), dataclasses.asdict(c), expectation)

        if kind == "none":
            return
        if kind in ("blocked", "na"):
            outcome, detail = (report.BLOCKED, f"blocked by {case}.reference.deterministic") if kind == "blocked" \
                else (report.NOT_APPLICABLE, "not applicable to this runtime")
            for check in CHECKS:
                add(check, outcome, detail)
            return
        if kind in ("fail", "xfail"):
            at = "load" if kind == "fail" else "train.loss"
            for check in CHECKS:
                if CHECKS.index(check) < CHECKS.index(at):
                    add(check, report.PASS)
                elif check == at:
                    error = ("failed at load: NOT_FOUND: Op type not registered 'DisableCopyOnRead'" if kind == "fail" else
                             "failed at train: FailedPrecondition: Could not find variable dense/kernel")
                    add(check, report.FAIL if kind == "fail" else report.XFAIL, error,
                        expectation=self.expectation(rt, "*.keras3_module.train.loss", "Keras 3 variables in a tf.Module")
                        if kind == "xfail" else None)
                else:
                    add(check, report.BLOCKED, f"blocked by {case}.{at}")
            return
        got, got_weights, relative = losses, weights, 0.0
        if kind == "within":
            got, relative = nudged(losses, arg), 1e-5
            self.ulps[(exporter, case, rt)] = list(arg)
        elif kind == "diverged":
            got = losses.copy()
            got[arg:] = (got[arg:] * np.array(1.01, dtype=dtype)).astype(dtype)
            got_weights = weights.copy()
            got_weights[2] = got_weights[2] * np.array(1.5, dtype=dtype)
        self.trajectories.append({"exporter": exporter, "case": case, "runtime": rt, "check": "train.loss",
                                  "role": "runtime", "first_step": 0, "dtype": dtype, "losses": [float(v) for v in got]})
        half = self.steps // 2  # the restore parts train on from a checkpoint, as the runner's plan does
        for way in ("saver", "signature"):  # two trajectories of one runtime from one step: told apart by check
            self.trajectories.append({"exporter": exporter, "case": case, "runtime": rt, "check": f"restore.{way}.loss",
                                      "role": "runtime", "first_step": half, "dtype": dtype,
                                      "losses": [float(v) for v in got[half:]]})
        names = {"dense/kernel/.ATTRIBUTES/VARIABLE_VALUE": "dense/kernel"}
        add("load", report.PASS)
        measured("train.loss", compare.steps(losses), compare.steps(got), relative)
        measured("predict", {"prediction": weights}, {"prediction": got_weights})
        xpass = self.expectation(rt, "*.keras3_archive.checkpoint.saver", "ExportArchive saves each weight twice")
        measured("checkpoint.saver", {"dense/kernel/.ATTRIBUTES/VARIABLE_VALUE": weights},
                 {"dense/kernel/.ATTRIBUTES/VARIABLE_VALUE": got_weights}, labels=names,
                 expectation=xpass if kind == "xpass" else None, xpass=kind == "xpass")
        add("checkpoint.signature", report.NOT_APPLICABLE, "export has no 'save' signature")
        measured("resume.loss", compare.steps(losses[:3], 5), compare.steps(got[:3], 5), relative)
        measured("resume.variables", {"dense/kernel": weights}, {"dense/kernel": got_weights})
        if rt.startswith("java"):
            add("tensors.closed", report.PASS, "0 native tensors still alive after the calls returned")

    def add_drift(self, exporter: str, case: str, runtime: str, baseline: str, max_ulp: int) -> None:
        self.drift = self.drift or []
        self.drift.append({"exporter": exporter, "case": case, "runtime": runtime, "baseline_runtime": baseline,
                           "verdict": "bit-exact" if max_ulp == 0 else "diverged", "max_ulp": max_ulp})

    def report(self) -> dict:
        """What an unsharded run writes (report.to_json: canonical order)."""
        return report.to_json(self.results, self.environment, self.seconds, runtimes=self.runtimes,
                              trajectories=self.trajectories, drift=self.drift)


def standard() -> Synthetic:
    """Two exporters; a divergence, an XFAIL, an XPASS, an unexpected FAIL, blocked and N/A cells, a runtime
    that cannot start (java-1.2.0: expected), float16/float64 losses, and a drift list."""
    s = Synthetic()
    s.setup_failure("java-1.2.0")
    none = "none"
    s.export("2.21.0", "mlp_regression.tf_keras", java_1_2_0=none)
    s.export("2.21.0", "lstm.keras3_archive", java_1_1_0=("within", [1, 2, 1, 3, 2, 4, 3, 2]), java_1_2_0=none)
    s.export("2.21.0", "mlp_regression.keras3_module", python_session_2_21_0="xfail", java_1_1_0="xfail", java_1_2_0=none)
    s.export("2.21.0", "cnn.tf_keras", java_1_1_0=("diverged", 3), java_1_2_0=none)
    s.export("2.21.0", "mlp_regression.keras3_archive", python_session_2_21_0="xpass", java_1_2_0=none)
    s.export("2.21.0", "dropout_stateful.keras3_archive", nondeterministic=True)
    s.export("2.21.0", "mlp_regression_float64.raw_module", dtype="float64", java_1_1_0=("within", [0, 0, 1, 0, 0, 2, 0, 0]),
             java_1_2_0=none)
    s.export("2.21.0", "mlp_regression_mixed_precision.tf_keras", dtype="float16", java_1_1_0="na", java_1_2_0=none)
    s.export("2.15.1", "mlp_regression.tf_keras", java_1_1_0=("within", [0, 1, 0, 1, 0, 1, 0, 1]), java_1_2_0=none)
    s.export("2.15.1", "embedding.tf_keras", python_session_2_21_0="fail", java_1_2_0=none)
    for case, ulps in (("mlp_regression.tf_keras", (0, 0, 1)), ("embedding.tf_keras", (3, 0, 4096))):
        for rt, ulp in zip(RUNTIMES[:3], ulps):
            s.add_drift("2.15.1", case, rt, "python-2.15.1", ulp)
    s.add_drift("2.18.0", "mlp_regression.tf_keras", "java-1.1.0", "python-2.18.0", 70000)
    s.add_drift("2.18.0", "mlp_regression.tf_keras", "python-2.21.0", "python-2.18.0", 0)
    return s


def ci_sized(exports: int = 40) -> Synthetic:
    """The CI subset's size: `exports` exports x 4 runtimes, java-1.2.0 unable to start (as listed)."""
    s = Synthetic()
    s.setup_failure("java-1.2.0")
    for i in range(exports):
        kinds = {"java_1_2_0": "none"}
        if i % 10 == 3:
            kinds |= {"python_session_2_21_0": "xfail", "java_1_1_0": "xfail"}
        if i % 13 == 5:
            kinds |= {"java_1_1_0": ("within", [1] * s.steps)}
        s.export("2.21.0", f"spec_{i:02d}.route_{'abcd'[i % 4]}", **kinds)
    return s


def small_run() -> list:
    """A run small enough to read whole (Result objects, as the runner makes them): one export per
    kind of cell, and a runtime that could not start. Its console summary and JUnit are pinned in
    test_report."""
    from pathlib import Path

    from harness.runs.expectations import Expectation
    from harness.runs.runner import Result as R

    setup = Expectation("setup", "404", "not on Maven Central", ("https://example.org/a",),
                        Path("expectations/expected_failures.toml"), runtime="java-1.2.0")
    keras3 = Expectation("m.c.*", "Could not find", "Could not find variable",
                         ("https://example.org/b", "https://example.org/c"), Path("expectations/expected_failures.toml"),
                         runtime="java-1.1.0")
    exact = compare.Comparison(compare.BIT_EXACT, compared=4)
    return [
        R("java-1.2.0", "", "setup", False, "Maven: 404", outcome="XFAIL", expectation=setup),
        R("python-2.21.0", "m.b", "train.loss", True, "ok", exact, "PASS", exporter="2.21.0"),
        R("java-1.1.0", "m.b", "train.loss", False, "diverged at step 2",
          compare.Comparison(compare.DIVERGED, max_ulp=40000), "FAIL", exporter="2.21.0"),
        R("java-1.1.0", "m.b", "predict", None, "blocked by train.loss", outcome="BLOCKED", exporter="2.21.0"),
        R("python-2.21.0", "m.c", "load", True, "ok", outcome="PASS", exporter="2.21.0"),
        R("python-2.21.0", "m.c", "restore", None, "no restore signature", outcome="N/A", exporter="2.21.0"),
        R("java-1.1.0", "m.c", "train.loss", True, "ok", exact, "XPASS", keras3, exporter="2.21.0"),
        R("java-1.1.0", "m.c", "predict", False, "FAILED_PRECONDITION: Could not find variable d/k", outcome="XFAIL",
          expectation=keras3, exporter="2.21.0"),
        # Last, and by an older TF than 2.21 whose name sorts after it as text: the report orders by version.
        R("python-2.21.0", "m.a", "train.loss", True, "ok", exact, "PASS", exporter="2.9.0"),
        R("java-1.1.0", "m.a", "train.loss", True, "within", compare.Comparison(compare.WITHIN, max_ulp=3), "PASS",
          exporter="2.9.0"),
        R("java-1.1.0", "m.a", "predict", True, "ok", exact, "PASS", exporter="2.9.0"),
    ]
