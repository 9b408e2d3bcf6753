"""The HTML report: ONE self-contained page (inline CSS, SVG and JS; nothing fetched) from the JSON report.

- the matrix (export x runtime), colored by outcome, filterable by runtime and outcome (also from the
  URL: `index.html#outcomes=fail,xpass&runtimes=java-1.1.0`);
- per export, the loss of every runtime over the reference's, and the per-step distance to the
  reference in ulps (from the losses in their dtype: the JSON floats cast back are exact); for a
  check that is not bit-exact, its variables table (first divergent variable, max ulp, abs, rel);
- the unexpected results, the expected failures, the environment;
- with `drift` in the report: exporter x runtime as a heat map of the largest ulp (log scale).

Plots are drawn by matplotlib (Figure API: no display, no pyplot state) as inline SVG with text as
text (`svg.fonttype = "none"`), fixed ids and no dates: two renders of one report give the same bytes.
"""

from __future__ import annotations

import html
import io
import json
import math
import re
from pathlib import Path

import numpy as np

from .. import atomic
from . import report as rp
from ..plan.compare import ulp_distance

# Okabe-Ito: distinguishable with color-vision deficiencies; runtime i gets PALETTE[i], in plots and headers.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
REFERENCE_COLOR = "#b8b8b8"
RC = {"svg.fonttype": "none", "svg.hashsalt": "tf-training-conformance", "path.simplify": True,
      "font.family": ["sans-serif"], "font.sans-serif": ["DejaVu Sans"], "font.size": 8,
      "axes.edgecolor": "#888888", "axes.labelcolor": "#333333", "xtick.color": "#555555", "ytick.color": "#555555",
      "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "axes.grid.axis": "y", "grid.color": "#e6e6e6",
      "grid.linewidth": 0.6, "legend.frameon": False, "xtick.major.size": 0, "ytick.major.size": 0,
      "xtick.minor.size": 0, "ytick.minor.size": 0, "xtick.major.pad": 3, "ytick.major.pad": 3}


def render(report: dict, out: Path) -> Path:
    """Writes `<out>/index.html` (atomically) and returns its path."""
    path = Path(out) / "index.html"
    atomic.write_text(path, page(report))
    return path


# --- numbers -----------------------------------------------------------------------------------------

def _steps(trajectory: dict) -> dict[int, np.generic]:
    dtype = np.dtype(trajectory.get("dtype", "float32"))
    losses = np.asarray(trajectory["losses"], dtype=np.float64).astype(dtype)  # exact: they were `dtype`
    first = trajectory.get("first_step", 0)
    return {first + i: v for i, v in enumerate(losses)}


def ulp_series(reference: list[dict], trajectory: dict) -> tuple[list[int], list[int]]:
    """Per step the trajectory shares with the reference (one or more reference trajectories):
    the distance between the two losses in ulps of the trajectory's dtype. ([], []) if dtypes differ."""
    want: dict[int, np.generic] = {}
    for ref in reference:
        if np.dtype(ref.get("dtype", "float32")) != np.dtype(trajectory.get("dtype", "float32")):
            return [], []
        want.update(_steps(ref))
    got = _steps(trajectory)
    steps = [s for s in got if s in want]
    if not steps:
        return [], []
    ulps = ulp_distance(np.array([want[s] for s in steps]), np.array([got[s] for s in steps]))
    return steps, [int(u) for u in ulps]


# --- plots -------------------------------------------------------------------------------------------

def _svg(fig, prefix: str) -> str:
    """The figure as inline SVG: no XML prolog, no metadata, ids kept only where referenced (prefixed,
    so figures on one page never share one), runtime groups (gid rt-N) turned into classes."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": RC["svg.hashsalt"]}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, flags=re.S)
    svg = re.sub(r'<g id="(rt-\d+)">', r'<g class="\1">', svg)
    referenced = set(re.findall(r'(?:href="#|url\(#)([^")]+)', svg))
    svg = re.sub(r' id="([^"]+)"', lambda m: f' id="{prefix}{m[1]}"' if m[1] in referenced else "", svg)
    svg = re.sub(r'(href="#|url\(#)([^")]+)', lambda m: f"{m[1]}{prefix}{m[2]}", svg)
    # Smaller, same picture: text takes its font from the page's CSS, no "rotate(-0 ...)", coordinates
    # to 1/100 pt, no indentation.
    svg = re.sub(r"font-family: [^;\"]*(; )?", "", svg)
    svg = re.sub(r' transform="rotate\(-0 [^"]*"', "", svg)
    svg = re.sub(r'\b(d|x|y|x1|x2|y1|y2|width|height|transform)="([^"]*)"',
                 lambda m: m[1] + '="' + re.sub(r"(\.\d\d)\d+", r"\1", m[2]) + '"', svg)
    svg = re.sub(r"\s*\n\s*", " ", svg)
    svg = re.sub(r">\s+<", "><", svg)
    single = re.compile(r"<g>(<(?:path|use|rect)[^>]*/>|<text[^>]*>[^<]*</text>|<g[^>]*/>)</g>|<g/>|<g></g>")
    while True:
        svg, n = single.subn(r"\1", svg)
        if not n:
            break
    return svg.strip()


def loss_figure(trajectories: list[dict], runtimes: list[str], prefix: str) -> str:
    """Loss per step of every runtime over the reference's, and per step the distance to it in ulps."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

    reference = [t for t in trajectories if t.get("role") == "reference"]
    # Each runtime's own training; the restore parts (a checkpoint's steps again) stay in the JSON and the matrix.
    others = [t for t in trajectories if t.get("role") != "reference" and t.get("check", "train.loss") == "train.loss"]
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(7.2, 2.5))
        fig.subplots_adjust(left=0.075, right=0.99, bottom=0.16, top=0.79, wspace=0.2)
        ax_loss, ax_ulp = fig.subplots(1, 2)
        for ref in reference:
            steps = _steps(ref)
            ax_loss.plot(list(steps), [float(v) for v in steps.values()], color=REFERENCE_COLOR, lw=5,
                         solid_capstyle="round", label=f"reference ({ref['runtime']})" if ref is reference[0] else None,
                         zorder=1)
        top = 0
        for n, t in enumerate(others):
            i = runtimes.index(t["runtime"]) if t["runtime"] in runtimes else len(runtimes) + n
            style = dict(color=_color(i), marker=MARKERS[i % len(MARKERS)], lw=1.2,
                         ms=max(7.5 - 1.5 * i, 3), mfc="none", mew=1.2, zorder=2 + i, gid=f"rt-{i}")
            label = t["runtime"] + (f" from step {t['first_step']}" if t.get("first_step") else "")
            steps = _steps(t)
            ax_loss.plot(list(steps), [float(v) for v in steps.values()], label=label, **style)
            if reference:
                at, ulps = ulp_series(reference, t)
                if at:
                    ax_ulp.plot(at, ulps, **style)
                    top = max(top, max(ulps))
        losses = [float(v) for t in trajectories for v in _steps(t).values() if np.isfinite(float(v))]
        if losses and min(losses) > 0 and max(losses) / min(losses) > 30:
            ax_loss.set_yscale("log")
        ax_loss.set_title("loss per step", loc="left", fontsize=8.5)
        ax_ulp.set_title(f"distance to the reference (ulp, {(reference or trajectories)[0].get('dtype', 'float32')})",
                         loc="left", fontsize=8.5)
        ax_ulp.set_yscale("symlog", linthresh=1, linscale=0.6)
        ax_ulp.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v < 1e6 else f"1e{round(math.log10(v))}"))
        decades = max(1, math.ceil(math.log10(max(float(top), 10.0))))
        stride = math.ceil(decades / 5)  # at most ~6 labels, even for NaN's 9e18 ulps
        ax_ulp.yaxis.set_major_locator(FixedLocator([0] + [10 ** k for k in range(0, decades + 1, stride)]))
        ax_ulp.set_ylim(-0.3, 10.0 ** decades * 1.5)
        ax_ulp.axhline(0, color="#2e7d32", lw=0.8, ls=":", zorder=1)
        if not reference or not others:
            ax_ulp.text(0.5, 0.55, "no reference trajectory" if not reference else "no runtime trained this export",
                        transform=ax_ulp.transAxes, ha="center", color="#777777")
        for ax in (ax_loss, ax_ulp):
            ax.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.yaxis.set_minor_locator(NullLocator())
            ax.set_xlabel("step", labelpad=1)
        if ax_loss.get_legend_handles_labels()[0]:
            fig.legend(loc="upper center", bbox_to_anchor=(0.5, 1.0), ncols=min(5, len(trajectories)), fontsize=7.5,
                       handlelength=2.2, columnspacing=1.2)
        return _svg(fig, prefix)


def drift_figure(drift: list[dict], runtimes: list[str], prefix: str) -> str:
    """Heat map exporter x runtime: the largest ulp over the exporter's cases (log scale; 0 = bit-exact)."""
    import matplotlib
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    exporters = sorted({d["exporter"] for d in drift}, key=rp.version_key)
    columns = [rt for rt in rp.runtime_order(runtimes, drift) if any(d["runtime"] == rt for d in drift)]
    cell: dict[tuple[str, str], list[dict]] = {}
    for d in drift:
        cell.setdefault((d["exporter"], d["runtime"]), []).append(d)
    worst = max((int(d.get("max_ulp", 0)) for d in drift), default=0)
    norm = LogNorm(1, max(worst, 10))
    with matplotlib.rc_context(RC):
        cmap = matplotlib.colormaps["YlOrRd"]
        fig = Figure(figsize=(1.7 + 1.3 * len(columns), 0.7 + 0.42 * len(exporters)), layout="constrained")
        ax = fig.subplots()
        for y, exporter in enumerate(exporters):
            for x, runtime in enumerate(columns):
                entries = cell.get((exporter, runtime), [])
                if not entries:
                    color, text, ink = "#f4f4f4", "-", "#999999"
                else:
                    ulp = max(int(e.get("max_ulp", 0)) for e in entries)
                    diverged = sum(e.get("verdict") != "bit-exact" for e in entries)
                    if ulp == 0 and not diverged:
                        color, text, ink = "#cfe8cf", f"bit-exact\n{len(entries)} case{'s' * (len(entries) > 1)}", "#1b5e20"
                    else:
                        rgba = cmap(norm(max(ulp, 1)))
                        color = rgba
                        ink = "#ffffff" if 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2] < 0.55 else "#222222"
                        text = f"{ulp:,} ulp\n{diverged}/{len(entries)} cases differ"
                ax.add_patch(Rectangle((x, y), 1, 1, facecolor=color, edgecolor="white", lw=2))
                ax.text(x + 0.5, y + 0.5, text, ha="center", va="center", color=ink, fontsize=7.5)
        ax.set_xlim(0, len(columns))
        ax.set_ylim(len(exporters), 0)
        ax.set_xticks([x + 0.5 for x in range(len(columns))], columns)
        baselines = {e: sorted({d.get("baseline_runtime", "") for d in drift if d["exporter"] == e}) for e in exporters}
        ax.set_yticks([y + 0.5 for y in range(len(exporters))],
                      [f"exported by {e}\n(vs {', '.join(b for b in baselines[e] if b)})" for e in exporters])
        ax.tick_params(length=0)
        ax.grid(False)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
        bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, fraction=0.05, pad=0.02)
        bar.set_label("largest ulp (log)")
        bar.solids.set_rasterized(True)
        return _svg(fig, prefix)


# --- the page ----------------------------------------------------------------------------------------

def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _slug(exporter: str, case: str) -> str:
    return "x-" + re.sub(r"[^A-Za-z0-9_.-]", "-", f"{case or 'setup'}-{exporter}" if exporter else case or "setup")


def _cell_title(results: list[dict]) -> str:
    lines = []
    for r in results:
        c = r.get("comparison")
        what = r["outcome"] + (f" {c['verdict']}" + (f" ({c['max_ulp']} ulp)" if c.get("max_ulp") else "") if c else "")
        lines.append(f"{r['check']}: {what}")
    return "\n".join(lines)


def _cell(results: list[dict], i: int, tag: str = "td", title: str | None = None, symbol: str | None = None) -> str:
    state, ulp = rp.cell_state(results)
    title = _cell_title(results) if title is None else title
    symbol = rp.cell_symbol(state, ulp) if symbol is None else symbol
    return (f'<{tag} class="cell s-{state} rt-{i}" data-rt="{i}" data-state="{state}"'
            + (f' title="{_e(title)}"' if title else "") + f'>{_e(symbol)}</{tag}>')


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _header_cells(runtimes: list[str]) -> str:
    out = []
    for i, rt in enumerate(runtimes):
        name, version = rp.column_title(rt)
        out.append(f'<th class="rt-{i}" data-rt="{i}"><span class="sw" style="background:{_color(i)}">'
                   f'</span>{_e(name)}<br><small>{_e(version)}</small></th>')
    return "".join(out)


def _matrix(rows: dict, runtimes: list[str], with_exporter: bool) -> str:
    head = ("<th>exporter</th>" if with_exporter else "") + "<th>export</th>" + _header_cells(runtimes)
    body = []
    for (exporter, case), by in rows.items():
        slug = _slug(exporter, case)
        label = f'<a href="#{slug}">{_e(case)}</a>' if case else f"<em>{rp.SETUP_ROW}</em>"
        body.append(f'<tr data-export="{slug}">' + (f'<td class="exp">{_e(exporter)}</td>' if with_exporter else "")
                    + f'<td class="name">{label}</td>'
                    + "".join(_cell(by.get(rt, []), i, symbol=None if case or by.get(rt) else "")
                              for i, rt in enumerate(runtimes)) + "</tr>")
    return (f'<table class="matrix" id="matrix"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def _legend() -> str:
    chips = []
    for s in rp.LEGEND_ORDER:
        symbol = rp.legend_symbol(s)
        chips.append(f'<span class="lg"><span class="cell s-{s}">{_e(symbol)}</span> {_e(rp.CELL_MEANING[s])}</span>')
    return f'<div class="legend">{"".join(chips)}</div>'


def _filters(runtimes: list[str], state_counts: dict[str, int]) -> str:
    rts = "".join(f'<label class="rt-filter"><input type="checkbox" data-filter="runtime" value="{_e(rt)}" checked>'
                  f'<span class="sw" style="background:{_color(i)}"></span>{_e(rt)}</label>'
                  for i, rt in enumerate(runtimes))
    states = "".join(f'<label><input type="checkbox" data-filter="outcome" value="{s}" checked>'
                     f'<span class="cell s-{s}">{_e(rp.legend_symbol(s))}</span>'
                     f'{_e(rp.CELL_MEANING[s].split(",")[0])} <small>({state_counts[s]})</small></label>'
                     for s in rp.CELL_STATES if state_counts.get(s))
    return (f'<div class="filters" id="filters"><div><b>Runtimes</b> {rts}</div>'
            f'<div><b>Outcomes</b> {states} <button type="button" id="only-problems">problems only</button> '
            f'<button type="button" id="show-all">all</button> <span id="shown"></span></div></div>')


def _comparison_rows(results: list[dict], runtimes: list[str]) -> str:
    """Rows for every check whose comparison is not bit-exact: which variable or step, how far."""
    rows = []
    for r in results:
        c = r.get("comparison")
        if not c or c.get("verdict") == "bit-exact":
            continue
        tol = f"relative {c['relative_tolerance']:g}" if c.get("relative_tolerance") else "0 ulp"
        i = runtimes.index(r["runtime"]) if r["runtime"] in runtimes else 0
        rows.append(f'<tr class="rt-{i}"><td>{_e(r["runtime"])}<br>{_e(r["check"])}</td>'
                    f'<td><span class="cell s-{rp.cell_state([r])[0]}">{_e(c["verdict"])}</span><br><small>tolerance {_e(tol)}</small></td>'
                    f'<td class="mono">{_e(c.get("first_divergence") or "-")}</td><td class="num">{c.get("max_ulp", 0):,}</td>'
                    f'<td class="num">{c.get("max_abs", 0):.3g}<br>{c.get("max_rel", 0):.3g}</td></tr>')
    if not rows:
        return ""
    return ('<table class="vars"><thead><tr><th>runtime, check</th><th>verdict</th><th>first divergent step / variable</th>'
            '<th>max ulp</th><th>max |d|<br>max rel</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _checks_grid(by: dict[str, list[dict]], runtimes: list[str]) -> str:
    checks = list(dict.fromkeys(r["check"] for rt in runtimes for r in by.get(rt, [])))
    body = []
    for check in checks:
        cells = []
        for i, rt in enumerate(runtimes):
            mine = [r for r in by.get(rt, []) if r["check"] == check]
            exact = all(r["outcome"] == rp.PASS and (r.get("comparison") or {}).get("verdict", "bit-exact") == "bit-exact"
                        for r in mine)
            cells.append(_cell(mine, i, title="" if exact else "\n".join(r["detail"][:400] for r in mine)))
        body.append(f"<tr><td>{_e(check)}</td>{''.join(cells)}</tr>")
    return (f'<table class="checks"><thead><tr><th>check</th>{_header_cells(runtimes)}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def _details(r: dict) -> str:
    return f'<pre class="detail">{_e(r["detail"])}</pre>' if r.get("detail") else ""


def _unexpected(results: list[dict]) -> str:
    bad = [r for r in results if r["outcome"] in rp.FAILING]
    if not bad:
        return ""
    items = []
    for r in bad:
        slug = _slug(r.get("exporter", ""), r["case"])
        hint = ""
        if r["outcome"] == rp.XPASS and r.get("expectation"):
            hint = (f'<p>listed as expected failure in <code>{_e(r["expectation"]["file"])}</code> '
                    f'(<code>{_e(r["expectation"]["case"])}</code>): it passes now; remove the entry</p>')
        items.append(f'<li><span class="cell s-{rp.cell_state([r])[0]}">{r["outcome"]}</span> '
                     f'<a href="#{slug}"><code>{_e(r["id"])}</code></a>{hint}{_details(r)}</li>')
    return f'<section class="box bad"><h2>Unexpected results ({len(bad)})</h2><ul>{"".join(items)}</ul></section>'


def _links(links) -> str:
    return " ".join(f'<a href="{_e(l)}">{_e(l.removeprefix("https://github.com/"))}</a>' for l in links)


def _expected(results: list[dict]) -> str:
    groups = rp.expected_failures(results)
    if not groups:
        return ""
    items = []
    for (runtime, file, case), hits in groups.items():
        e = hits[0]["expectation"]
        items.append(f'<li><p><span class="cell s-xfail">x{len(hits)}</span> <b>{_e(runtime)}</b> '
                     f'<code>{_e(case)}</code>: {_e(e["reason"])} {_links(e.get("links", []))} '
                     f'<small>({_e(Path(file).name)})</small></p>'
                     f'<details><summary>e.g. <code>{_e(hits[0]["id"])}</code></summary>{_details(hits[0])}</details></li>')
    return (f'<section class="box"><h2>Expected failures</h2><p class="note">one paragraph per entry of '
            f'expectations/expected_failures.toml and runtime, with how many checks it covers</p><ul>{"".join(items)}</ul></section>')


def _environment(env: dict) -> str:
    if not env:
        return ""
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v if isinstance(v, str) else json.dumps(v, sort_keys=True))}</td></tr>"
                   for k, v in sorted(env.items()))
    return f'<details class="env"><summary>Environment</summary><table>{rows}</table></details>'


def _drift(report: dict, runtimes: list[str]) -> str:
    drift = report.get("drift")
    if not drift:
        return ""
    rows = "".join(
        f'<tr><td>{_e(d["exporter"])}</td><td>{_e(d["case"])}</td><td>{_e(d["runtime"])}</td>'
        f'<td>{_e(d.get("baseline_runtime", ""))}</td><td><span class="cell s-{ {"bit-exact": "exact", "drift": "drift", "diverged": "fail"}.get(d.get("verdict"), "within")}">'
        f'{_e(d.get("verdict", ""))}</span></td><td class="num">{int(d.get("max_ulp", 0)):,}</td>'
        f'<td class="num">{float(d.get("max_scaled", 0)):.2g}</td></tr>' for d in drift)
    return ('<section class="box" id="drift"><h2>Drift across TF versions</h2>'
            '<p class="note">An export trained in a runtime of another TF than its exporter\'s, compared with the same '
            'export trained by the exporter\'s own TF (baseline). Drift: within the cross-version band of its dtype '
            '(norm-wise, harness/plan/compare.py), not a failure. Color: the largest ulp over the exporter\'s cases, log scale; '
            'green: bit-exact.</p>'
            f'<div class="plot heat">{drift_figure(drift, runtimes, "drift-")}</div>'
            '<details><summary>per case</summary><table class="vars"><thead><tr><th>exporter</th><th>case</th><th>runtime</th>'
            f'<th>baseline</th><th>verdict</th><th>max ulp</th><th>norm-wise</th></tr></thead><tbody>{rows}</tbody></table></details></section>')


def _exports(rows: dict, trajectories: list[dict], runtimes: list[str]) -> str:
    curves: dict[tuple[str, str], list[dict]] = {}
    for t in trajectories:
        curves.setdefault((t.get("exporter", ""), t["case"]), []).append(t)
    sections = []
    for n, ((exporter, case), by) in enumerate(rows.items()):
        if not case:
            continue
        slug = _slug(exporter, case)
        chips = "".join(f'<span class="chip rt-{i}" title="{_e(rt)}"><span class="sw" style="background:{_color(i)}"></span>'
                        f'{_cell(by.get(rt, []), i, "span", title="")}</span>' for i, rt in enumerate(runtimes))
        mine = curves.get((exporter, case), [])
        plot = (f'<div class="plot">{loss_figure(mine, runtimes, f"f{n}-")}</div>' if mine
                else '<p class="note">no loss trajectory recorded</p>')
        every = [r for rt in runtimes for r in by.get(rt, [])]
        by_exporter = f' <small>exported by TF {_e(exporter)}</small>' if exporter else ""
        sections.append(f'<section class="export" id="{slug}"><h3>{_e(case)}{by_exporter} '
                        f'<span class="chips">{chips}</span></h3>{plot}{_comparison_rows(every, runtimes)}'
                        f'<details><summary>every check</summary>{_checks_grid(by, runtimes)}</details></section>')
    return f'<h2>Exports</h2><div class="exports">{"".join(sections)}</div>'


def page(report: dict) -> str:
    """The whole page as a string (deterministic: the same report gives the same bytes)."""
    results = report["results"]
    runtimes = rp.columns(report)
    rows = rp.cells(results)
    with_exporter = any(exporter for exporter, _ in rows)
    state_counts: dict[str, int] = {}
    for by in rows.values():
        for rt in runtimes:
            s = rp.cell_state(by.get(rt, []))[0]
            state_counts[s] = state_counts.get(s, 0) + 1
    ok = report.get("ok", not any(r["outcome"] in rp.FAILING for r in results))
    partial = rp.partial_note(results) if report.get("partial") else None
    status = "PARTIAL" if partial else "OK" if ok else "FAILED"
    n_exports = sum(1 for _, case in rows if case)
    env = report.get("environment", {})
    hide_rules = "".join(f"body.hide-rt-{i} .rt-{i}{{display:none}}" for i in range(len(runtimes)))
    facts = [f"{n_exports} exports x {len(runtimes)} runtimes", f"{len(results)} checks"]
    if "seconds" in report:
        facts.append(f"{report['seconds']} s")
    if env.get("tensorflow_python"):
        facts.append(f"TF Python {env['tensorflow_python']}")
    if isinstance(env.get("cpu"), str):
        facts.append(env["cpu"])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>TF training conformance: {"ok" if ok else status}</title>
<style>{CSS}{hide_rules}</style></head>
<body data-runtimes="{_e(json.dumps(runtimes))}">
<header><h1>TF training conformance <span class="status {"ok" if ok else "failed"}">{status}</span></h1>
{f'<p class="partial">{_e(partial)}</p>' if partial else ""}<p class="summary">{_e(rp.summary_line(results))}</p><p class="facts">{_e(" · ".join(facts))}</p></header>
{_filters(runtimes, state_counts)}
<main>
<section><h2>Matrix</h2><p class="note">One cell per export and runtime, summarising its checks (hover for each check;
the export's name leads to its plots). Tolerance: 0 ulp unless expectations/tolerances.toml gives the case its own.</p>
{_legend()}{_matrix(rows, runtimes, with_exporter)}</section>
{_unexpected(results)}{_expected(results)}{_drift(report, runtimes)}{_exports(rows, report.get("trajectories") or [], runtimes)}
{_environment(env)}
</main>
<script>{JS}</script>
</body></html>
"""


CSS = """
:root{--fg:#1d232b;--muted:#5f6b7a;--line:#e3e7ec;--bg:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:#fff}
header{padding:18px 28px 6px;border-bottom:1px solid var(--line);background:var(--bg)}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:26px 0 8px} h3{font-size:14px;margin:0 0 6px}
.status{font-size:13px;padding:2px 9px;border-radius:11px;vertical-align:middle;color:#fff}
.status.ok{background:#2e7d32}.status.failed{background:#c62828}
.summary{margin:2px 0;font-weight:600}.facts{margin:0 0 8px;color:var(--muted);font-size:12.5px}
main{padding:0 28px 40px}
.note{color:var(--muted);font-size:12.5px;margin:4px 0 8px}
.filters{position:sticky;top:0;z-index:5;background:rgba(255,255,255,.96);border-bottom:1px solid var(--line);padding:8px 28px;font-size:12.5px}
.filters div{margin:2px 0}.filters label{margin-right:12px;white-space:nowrap;cursor:pointer}
.filters input{vertical-align:middle;margin:0 4px 0 0}.filters .cell{margin-right:4px}
.filters button{font-size:12px;padding:1px 8px;margin-left:4px;cursor:pointer}
#shown{color:var(--muted);margin-left:8px}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:baseline}
table{border-collapse:collapse}
.matrix{font-size:12.5px;margin-top:6px}
.matrix th[data-rt]{min-width:92px}.matrix th{font-weight:600;text-align:center;padding:4px 8px;border-bottom:2px solid var(--line);vertical-align:bottom;line-height:1.15}
.matrix th small{font-weight:400;color:var(--muted)}
.matrix td{padding:1px 4px;border-bottom:1px solid #f0f2f4}
.matrix td.name,.matrix td.exp{padding-right:14px;white-space:nowrap}.matrix td.exp{color:var(--muted)}
.matrix td.name a{color:var(--fg);text-decoration:none}.matrix td.name a:hover{text-decoration:underline}
.matrix tbody tr:hover td{background:#fafbfc}
.cell{display:inline-block;min-width:44px;text-align:center;font:600 11.5px/1.6 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;border-radius:4px;padding:0 6px}
td.cell{display:table-cell;border:2px solid #fff!important}
.s-exact{background:#d4edd4;color:#1b5e20}.s-within{background:#e9f3c5;color:#4a5d00}.s-drift{background:#e3ecf7;color:#1f4e86}.s-pass{background:#dfeee0;color:#2e6b31}
.s-xfail{background:#e3e7f1;color:#3c4a6b}.s-fail{background:#f8c7c2;color:#8e1b12}.s-xpass{background:#ffd9a8;color:#7a3e00}
.s-blocked{background:repeating-linear-gradient(135deg,#eeeeee 0 4px,#f8f8f8 4px 8px);color:#666}
.s-na{background:#fafafa;color:#9a9a9a}.s-none{background:transparent;color:#c4c4c4}
td.s-none{background:#fff}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;color:var(--muted);margin:4px 0 6px}
.legend .cell{min-width:34px}
.box{border:1px solid var(--line);border-radius:8px;padding:2px 16px 10px;margin-top:22px}
.box.bad{border-color:#f0b2ab;background:#fff8f7}
.box ul{padding-left:18px;margin:6px 0}.box li{margin:6px 0}
pre.detail{white-space:pre-wrap;word-break:break-word;font-size:12px;background:var(--bg);padding:6px 8px;border-radius:4px;margin:4px 0;max-height:16em;overflow:auto}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.exports{display:grid;grid-template-columns:repeat(auto-fill,minmax(640px,1fr));gap:16px}
.export{border:1px solid var(--line);border-radius:8px;padding:10px 12px;scroll-margin-top:70px;min-width:0;overflow-x:auto}
.export:target{box-shadow:0 0 0 3px #90caf9}
.export h3 small{font-weight:400;color:var(--muted)}
.chips{float:right}.chip{margin-left:6px;white-space:nowrap}.chip .sw{margin-right:2px}.chips .cell{min-width:36px}
.plot svg{width:100%;height:auto;display:block}.plot text{font-family:"DejaVu Sans",Verdana,sans-serif}
.heat svg{max-width:640px}
.vars{font-size:12px;margin:6px 0;width:100%}.vars th,.vars td{padding:3px 6px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
.vars th{white-space:nowrap;font-weight:600}.vars td{white-space:nowrap}.vars td.mono{white-space:normal;word-break:break-word;width:99%;font-size:11.5px}
.vars td.num{text-align:right}
.checks{font-size:12px;margin:6px 0}.checks td,.checks th{padding:1px 4px}.checks th{font-weight:600;line-height:1.1}
details summary{cursor:pointer;color:var(--muted);font-size:12.5px;margin-top:6px}
.env table{font-size:12px}.env th{text-align:left;padding:2px 12px 2px 0;vertical-align:top}.env td{word-break:break-word}
[hidden]{display:none!important}
"""

JS = """
(function () {
  const runtimes = JSON.parse(document.body.dataset.runtimes);
  const boxes = (kind) => Array.from(document.querySelectorAll('input[data-filter="' + kind + '"]'));
  const rows = Array.from(document.querySelectorAll('#matrix tbody tr'));
  function apply(save) {
    const hidden = new Set(boxes('runtime').filter((b) => !b.checked).map((b) => String(runtimes.indexOf(b.value))));
    const states = new Set(boxes('outcome').filter((b) => b.checked).map((b) => b.value));
    runtimes.forEach((_, i) => document.body.classList.toggle('hide-rt-' + i, hidden.has(String(i))));
    let shown = 0;
    rows.forEach((row) => {
      const visible = Array.from(row.querySelectorAll('td.cell'))
        .some((td) => !hidden.has(td.dataset.rt) && states.has(td.dataset.state));
      row.hidden = !visible;
      const section = document.getElementById(row.dataset.export);
      if (section) section.hidden = !visible;
      if (visible) shown += 1;
    });
    document.getElementById('shown').textContent = 'showing ' + shown + ' of ' + rows.length + ' rows';
    if (save) {
      const off = boxes('runtime').filter((b) => !b.checked).length;
      const unchecked = boxes('outcome').filter((b) => !b.checked).length;
      const parts = [];
      if (unchecked) parts.push('outcomes=' + Array.from(states).join(','));
      if (off) parts.push('runtimes=' + boxes('runtime').filter((b) => b.checked).map((b) => encodeURIComponent(b.value)).join(','));
      history.replaceState(null, '', parts.length ? '#' + parts.join('&') : location.pathname);
    }
  }
  function fromHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    if (params.has('outcomes')) {
      const want = new Set(params.get('outcomes').split(','));
      boxes('outcome').forEach((b) => { b.checked = want.has(b.value); });
    }
    if (params.has('runtimes')) {
      const want = new Set(params.get('runtimes').split(','));
      boxes('runtime').forEach((b) => { b.checked = want.has(b.value); });
    }
  }
  document.getElementById('filters').addEventListener('change', () => apply(true));
  document.getElementById('only-problems').addEventListener('click', () => {
    boxes('outcome').forEach((b) => { b.checked = b.value === 'fail' || b.value === 'xpass'; });
    apply(true);
  });
  document.getElementById('show-all').addEventListener('click', () => {
    boxes('outcome').concat(boxes('runtime')).forEach((b) => { b.checked = true; });
    apply(true);
  });
  if (location.hash.indexOf('=') >= 0) fromHash();
  apply(false);
  document.documentElement.dataset.ready = 'true';
})();
"""
