"""The tables of docs/reference.md that the code defines, rendered from it (never typed):

    python tools/reference.py --write docs/reference.md   # rewrite every generated section in place
    python tools/reference.py checks                      # print one section

A section sits between `<!-- generated: NAME -->` and `<!-- end: NAME -->`; tests/test_docs.py checks each
equals what this renders from the code, so a new check, kind, band or version shows up as a failing test.
"""

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import checks, resources  # noqa: E402
from harness.exports import spec  # noqa: E402
from harness.plan import compare  # noqa: E402
from harness.runs import versions  # noqa: E402
from harness.runtimes import registry, tflite  # noqa: E402


def _table(head, rows) -> str:
    return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
                     + ["| " + " | ".join(map(str, r)) + " |" for r in rows])


def kinds() -> str:
    return _table(["kind", "module", "what it is"],
                  [[f"`{k}-X`", f"`harness/runtimes/{cls.__module__.rsplit('.', 1)[-1]}.py`", cls.what]
                   for k, cls in registry.KINDS.items()])


def bands() -> str:
    cross, kernels = compare.CROSS_VERSION_BAND, tflite.KERNELS_BAND
    dtypes = list(dict.fromkeys([*cross, *kernels]))
    return _table(["dtype", f"{cross.name} (`compare.CROSS_VERSION_BAND`)", f"{kernels.name} (`tflite.KERNELS_BAND`)"],
                  [[d, cross.get(d, "none"), kernels.get(d, "none")] for d in dtypes]
                  + [["integers", "none", "none"]])


def tf_versions() -> str:
    rows = [["`TF_PYTHON` (the harness's own)", versions.TF_PYTHON],
            ["`TF_PYTHON_MATRIX` (`nox -s matrix`)", ", ".join(versions.TF_PYTHON_MATRIX)],
            ["`TF_JAVA` (default Java runtime)", versions.TF_JAVA],
            ["`TF_JAVA_MATRIX` (`conformance` default)", ", ".join(versions.TF_JAVA_MATRIX)],
            ["`TFLITE_ON_DEVICE` (`certify --on-device` default)", ", ".join(versions.TFLITE_ON_DEVICE)],
            ["`LITERT` (LiteRT's, beside them; `--all-kinds`)", ", ".join(versions.LITERT)]]
    rows += [[f"TF Java `{j}` runs TF", tf] for j, tf in versions.TF_JAVA_NATIVE.items()]
    return _table(["setting (`harness/runs/versions.py`)", "value"], rows)


def specs() -> str:
    def optimizer(s) -> str:
        hyper = ", ".join(f"{k}={v}" for k, v in s.optimizer.items() if k != "name")
        return f"{s.optimizer['name']}({hyper})"

    rows = [[f"`{s.name}`", s.description, optimizer(s), s.precision, ", ".join(s.ci_routes),
             ", ".join(r for r in s.routes if r not in s.ci_routes) or "-"] for s in spec.all_specs()]
    return _table(["spec", "model (its file's description)", "optimizer", "precision", "CI routes", "`--all` adds"], rows)


def causes() -> str:
    import tomllib

    # Where the package reads it (harness/_data in a wheel, the repository's expectations/ in a checkout).
    table = tomllib.loads((resources.data("expectations") / "causes.toml").read_text())
    return _table(["cause id", "what happened", "what to change"],
                  [[f"`{c['id']}`", " ".join(c["cause"].split()), " ".join(c["fix"].split())] for c in table["cause"]])


SECTIONS = {"checks": checks.docs_table, "kinds": kinds, "bands": bands, "versions": tf_versions, "specs": specs, "causes": causes}
SECTION = re.compile(r"<!-- generated: (\w+) -->\n(.*?)<!-- end: \1 -->", re.S)


def rewrite(text: str) -> str:
    return SECTION.sub(lambda m: f"<!-- generated: {m[1]} -->\n{SECTIONS[m[1]]()}\n<!-- end: {m[1]} -->", text)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write"] and len(sys.argv) == 3:
        page = Path(sys.argv[2])
        page.write_text(rewrite(page.read_text()))
    elif len(sys.argv) == 2 and sys.argv[1] in SECTIONS:
        print(SECTIONS[sys.argv[1]]())
    else:
        sys.exit(__doc__)
