"""The HTML report: self-contained, deterministic, right about every cell, and shown by a real browser.

The browser tests run Debian's `chromium` headless; they FAIL when it is missing (.ci/run installs it).
"""

import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest

from harness.reports import html_report

from .conftest import ROOT
from .synthetic import RUNTIMES, ci_sized, nudged, standard

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of <text> elements (SVG labels)."""

    def __init__(self, page: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.svg_text: list[str] = []
        self._in_text = False
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_text = tag == "text"

    def handle_endtag(self, tag):
        self._in_text = False if tag == "text" else self._in_text

    def handle_data(self, data):
        if self._in_text:
            self.svg_text.append(data)

    def all(self, tag, **attrs):
        return [a for t, a in self.tags if t == tag and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())]


@pytest.fixture(scope="module")
def synthetic():
    return standard()


@pytest.fixture(scope="module")
def page(synthetic, tmp_path_factory):
    out = tmp_path_factory.mktemp("html")
    return html_report.render(synthetic.report(), out)


def exports_with_curves(r: dict) -> set:
    return {(t["exporter"], t["case"]) for t in r["trajectories"]}


def test_every_cell_of_the_matrix_is_its_export_in_its_runtime(synthetic, page):
    tags = Tags(page.read_text())
    rows = [a["data-export"] for a in tags.all("tr") if "data-export" in a]
    assert len(rows) == 1 + len({(e, c) for e, c, _ in synthetic.expected})
    text = page.read_text()
    for (exporter, case, runtime), state in synthetic.expected.items():
        slug = html_report._slug(exporter, case)
        row = re.search(rf'<tr data-export="{re.escape(slug)}">(.*?)</tr>', text, flags=re.S).group(1)
        cells = re.findall(r'<td class="cell s-(\w+) rt-(\d+)"', row)
        assert cells[RUNTIMES.index(runtime)] == (state, str(RUNTIMES.index(runtime))), (exporter, case, runtime)


def test_the_page_is_self_contained(page):
    text = page.read_text()
    assert not re.search(r"<(link|img|iframe|object|embed)\b", text)
    assert not re.search(r"<script[^>]*\bsrc=", text) and "@import" not in text
    assert set(re.findall(r"url\(([^#)])", text)) == set()  # CSS and SVG refer to nothing outside the page
    for tag, attrs in Tags(text).tags:
        for name in ("src", "href", "xlink:href"):
            value = attrs.get(name)
            if value is None or value.startswith("#") or value.startswith("data:image/png;base64,"):
                continue
            assert tag == "a" and value.startswith("https://"), (tag, name, value)  # links to read, not to fetch


def test_two_renders_give_the_same_bytes(synthetic, page, tmp_path):
    again = subprocess.run(
        [sys.executable, "-c", "import json, sys; from pathlib import Path; from harness.reports import html_report; "
         "html_report.render(json.load(sys.stdin), Path(sys.argv[1]))", str(tmp_path)],
        input=json.dumps(synthetic.report()), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "index.html").read_bytes() == page.read_bytes()


def test_plots_are_small_text_svgs(synthetic, page):
    text = page.read_text()
    r = synthetic.report()
    svgs = re.findall(r"<svg\b.*?</svg>", text, flags=re.S)
    assert len(svgs) == len(exports_with_curves(r)) + 1  # + the drift heat map
    for svg in svgs:
        assert "<metadata" not in svg and "dc:date" not in svg.lower()
        assert "<text" in svg and "DejaVuSans-" not in svg  # labels are text, no glyphs embedded
    ids = re.findall(r' id="([^"]+)"', text)
    assert len(ids) == len(set(ids))  # no two figures share a clip path or marker id


def test_ulps_per_step_are_measured_in_the_losses_dtype():
    for dtype, ulps in (("float32", [0, 1, 5, 0, 2]), ("float64", [3, 0, 0, 1, 0]), ("float16", [0, 2, 0, 0, 7])):
        losses = np.linspace(1.5, 0.25, len(ulps)).astype(dtype)
        reference = {"role": "reference", "first_step": 0, "dtype": dtype, "losses": [float(v) for v in losses]}
        moved = {"role": "runtime", "first_step": 0, "dtype": dtype, "losses": [float(v) for v in nudged(losses, ulps)]}
        assert html_report.ulp_series([reference], moved) == (list(range(len(ulps))), ulps), dtype
        resumed = {**moved, "first_step": 2, "losses": moved["losses"][2:]}
        assert html_report.ulp_series([reference], resumed) == ([2, 3, 4], ulps[2:])  # matched by step
    assert html_report.ulp_series([reference], {**moved, "dtype": "float32"}) == ([], [])


def test_divergences_name_their_first_variable(synthetic, page):
    text = page.read_text()
    section = re.search(r'<section class="export" id="x-cnn.tf_keras-2.21.0">(.*?)</section>', text, flags=re.S).group(1)
    r = synthetic.report()
    diverged = [x for x in r["results"] if x["case"] == "cnn.tf_keras" and x["comparison"]
                and x["comparison"]["verdict"] == "diverged"]
    assert diverged
    for x in diverged:
        c = x["comparison"]
        assert html_report._e(c["first_divergence"]) in section
        assert f'{c["max_ulp"]:,}' in section
    assert section.count('<span class="cell s-fail">diverged</span>') == len(diverged)


def test_drift_heat_map_shows_the_largest_ulp_per_exporter_and_runtime(synthetic, page):
    heat = re.search(r'<div class="plot heat">(<svg.*?</svg>)', page.read_text(), flags=re.S).group(1)
    labels = " ".join(Tags(heat).svg_text)
    worst: dict = {}
    for d in synthetic.report()["drift"]:
        key = (d["exporter"], d["runtime"])
        worst[key] = max(worst.get(key, 0), d["max_ulp"])
    for (exporter, runtime), ulp in worst.items():
        assert (f"{ulp:,} ulp" in labels) if ulp else ("bit-exact" in labels), (exporter, runtime, ulp)
    assert "exported by 2.15.1" in labels and "exported by 2.18.0" in labels


def test_forty_exports_stay_small(tmp_path):
    r = ci_sized(40).report()
    size = html_report.render(r, tmp_path).stat().st_size
    assert size < 1_200_000, size  # budget: ~20 KB per export, plots included
    assert (tmp_path / "index.html").read_text().count("<svg") == 40


# --- in a real browser -------------------------------------------------------------------------------

def browse(url: str, tmp_path, *args) -> subprocess.CompletedProcess:
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: `apt-get install -y chromium` (.ci/run does it on CI)")
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--user-data-dir={tmp_path / 'chromium-profile'}", "--enable-logging=stderr", "--v=0",
                           *args, url], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    console = [l for l in done.stderr.splitlines() if "CONSOLE" in l or "Uncaught" in l]
    assert not console, "\n".join(console)  # the page logs nothing, throws nothing
    return done


def test_chromium_shows_the_matrix_and_the_plots(synthetic, page, tmp_path):
    r = synthetic.report()
    shot = tmp_path / "index.png"
    dom = Tags(browse(page.as_uri(), tmp_path, "--dump-dom", f"--screenshot={shot}", "--window-size=1400,1800").stdout)
    assert dom.all("html", data_ready="true"), "the page's script did not finish"
    rows = [a for a in dom.all("tr") if "data-export" in a]
    assert len(rows) == 1 + len(exports_with_curves(r)) and not any("hidden" in a for a in rows)
    assert len(dom.all("svg")) == len(exports_with_curves(r)) + 1
    assert sum(1 for t, _ in dom.tags if t == "path") > 20 * len(exports_with_curves(r))  # plots drawn, not empty

    from PIL import Image

    pixels = {rgb for _, rgb in Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 24)}
    for css in ("#d4edd4", "#f8c7c2", "#ffd9a8", "#e3e7f1", "#c62828"):  # bit-exact, FAIL, XPASS, XFAIL, the status
        assert tuple(int(css[i:i + 2], 16) for i in (1, 3, 5)) in pixels, f"{css} is not on screen"
    print(f"screenshot: {shot}")


def test_chromium_filters_by_outcome_and_runtime(synthetic, page, tmp_path):
    expected = synthetic.expected

    def shown(fragment: str) -> set:
        dom = Tags(browse(page.as_uri() + fragment, tmp_path, "--dump-dom").stdout)
        assert dom.all("html", data_ready="true")
        return {a["data-export"] for a in dom.all("tr") if "data-export" in a and "hidden" not in a}

    def slugs(keep) -> set:
        return {html_report._slug(e, c) for (e, c, rt), state in expected.items() if keep(rt, state)}

    problems = slugs(lambda rt, state: state in ("fail", "xpass"))
    assert problems and shown("#outcomes=fail,xpass") == problems
    java = slugs(lambda rt, state: rt == "java-1.1.0" and state == "fail")
    assert java and java != problems and shown("#outcomes=fail&runtimes=java-1.1.0") == java
    sections = {a["id"] for a in Tags(browse(page.as_uri() + "#outcomes=xpass", tmp_path, "--dump-dom").stdout).all("section")
                if a.get("class") == "export" and "hidden" not in a}
    assert sections == slugs(lambda rt, state: state == "xpass")  # the plots follow the filter



def test_renders_todays_reports_and_broken_losses(synthetic, tmp_path):
    r = synthetic.report()
    quiet = {k: v for k, v in r.items() if k != "drift"} | {"trajectories": []}  # no losses recorded, one TF version
    page = html_report.render(quiet, tmp_path / "quiet").read_text()
    assert page.count('<tr data-export="') == 1 + len({(x["exporter"], x["case"]) for x in r["results"] if x["case"]})
    assert "<svg" not in page and "no loss trajectory recorded" in page

    broken = dict(r, trajectories=[dict(t) for t in r["trajectories"]])
    java = next(t for t in broken["trajectories"] if t["runtime"] == "java-1.1.0")
    java["losses"] = [float("nan"), float("inf")] + java["losses"][2:]
    broken["trajectories"].append({**java, "runtime": "java-9.9.9", "losses": []})  # not a column, nothing trained
    steps, ulps = html_report.ulp_series([t for t in broken["trajectories"] if t["case"] == java["case"] and
                                          t["exporter"] == java["exporter"] and t["role"] == "reference"], java)
    assert ulps[0] == np.iinfo(np.int64).max and ulps[1] > 1e6  # NaN and inf are as far as can be
    html_report.render(broken, tmp_path / "broken")
