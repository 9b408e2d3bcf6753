"""Where a run's seconds go (harness/runs/timing.py): the worker's stopwatch, the case's clock, the report's timings."""

import itertools

from harness.reports import report
from harness.runs import timing


def test_the_stopwatch_gives_each_stage_the_time_until_the_next_and_the_last_until_stop(monkeypatch):
    ticks = itertools.count(start=10.0, step=1.5)  # each reading of the clock 1.5 s after the previous
    monkeypatch.setattr(timing.time, "perf_counter", lambda: next(ticks))
    seen = []
    watch = timing.Stopwatch(seen.append)
    for stage in ("load", "train", "load", "save"):  # a stage named twice adds up
        watch(stage)
    assert watch.stop() == {"load": 3.0, "train": 1.5, "save": 1.5}
    assert seen == ["load", "train", "load", "save"]  # the stage marks still reach the worker's log


def test_a_request_is_split_into_the_workers_stages_and_the_transfer_around_them():
    clock = timing.Clock()
    clock.request("java-1.1.0", 2.0, {"load": 0.5, "train": 1.0, "restore.saver.load": 0.25})
    clock.request("java-plain-1.1.0", 3.0, {})  # no worker: the whole run is one stage
    assert dict(clock.seconds) == {("java-1.1.0", "load"): 0.5, ("java-1.1.0", "train"): 1.0,
                                   ("java-1.1.0", "restore.saver.load"): 0.25, ("java-1.1.0", "transfer"): 0.25,
                                   ("java-plain-1.1.0", "run"): 3.0}
    rows = clock.rows("2.21.0", "mlp_regression.tf_keras")
    assert {(r["runtime"], r["stage"]) for r in rows} == set(clock.seconds)
    assert all(r["exporter"] == "2.21.0" and r["case"] == "mlp_regression.tf_keras" for r in rows)


def test_nobody_asking_keeps_nothing():
    clock = timing.NoClock()
    with clock.stage("python-2.21.0", "reference"):
        pass
    clock.request("java-1.1.0", 1.0, {"load": 0.5})
    assert not clock.seconds


def test_the_table_puts_a_restored_part_in_one_row_and_says_each_stages_share():
    rows = [{"exporter": "2.21.0", "case": "c", "runtime": "java-1.1.0", "stage": s, "seconds": v}
            for s, v in (("load", 1.0), ("restore.saver.load", 2.0), ("restore.saver.train", 1.0))]
    text = timing.table({"cases": rows, "fixed": {"imports": 9.0, "exports": 1.0, "worker starts": 12.0},
                         "starts": {"java-1.1.0": 4.0}})
    lines = text.splitlines()
    saver = next(l for l in lines if l.startswith("restore.saver "))
    assert "3.0s" in saver and saver.endswith("75.0%"), text
    assert next(l for l in lines if l.startswith("load ")).endswith("25.0%"), text
    assert "worker starts 12.0 s wall" in text and "imports 9.0 s" in text and "java-1.1.0 4.0 s" in text


def test_timings_are_not_what_another_run_must_reproduce_and_shards_unite_them():
    def one(case, seconds):
        return report.to_json([], {"python": "3.11"}, seconds, timings={
            "fixed": {"imports": 10.0}, "cases": [{"exporter": "2.21.0", "case": case, "runtime": "python-2.21.0",
                                                   "stage": "load", "seconds": seconds}],
            "case seconds": [{"exporter": "2.21.0", "case": case, "seconds": seconds}]})

    a, b = one("a", 1.0), one("b", 2.0)
    assert report.reproducible(a) == report.reproducible(one("a", 7.0))  # timings differ, nothing else
    merged = report.merge([a, b])
    assert merged["timings"]["fixed"] == {"imports": 20.0}  # the work of both shards
    assert [r["case"] for r in merged["timings"]["cases"]] == ["a", "b"]
    assert [r["case"] for r in merged["timings"]["case seconds"]] == ["a", "b"]
