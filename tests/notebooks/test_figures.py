#!/usr/bin/python3
"""Tests for notebooks/figures.py and notebooks/table1.ipynb on a small synthetic results folder.

    /usr/bin/python3 tests/notebooks/test_figures.py

Needs matplotlib (Debian: python3-matplotlib) and, for the notebook test, nbconvert with a Python
kernel (jupyter-nbconvert, python3-ipykernel). A missing one skips its tests, but fails them when
CI=true, like the shared-data tests.
"""

import importlib.util
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIGURES_SCRIPT = REPO / "notebooks" / "figures.py"
NOTEBOOK = REPO / "notebooks" / "table1.ipynb"
ALL_FIGURES = ("rates", "rate_vs_throughput", "lm_model_size", "training_curves")
PAPER_COLUMN_PIXELS = (3.3 * 200, 7.0 * 200)  # 3.3 to 7 inches at the script's 200 dpi


def missing(module):
    return importlib.util.find_spec(module) is None


def skip_unless(available, reason):
    """Skips a test when a dependency is missing, except in CI where that is a setup error."""
    if available:
        return lambda test: test
    if os.environ.get("CI") == "true":
        return lambda test: lambda self: self.fail(f"{reason} (CI=true: install it)")
    return unittest.skip(reason)


needs_matplotlib = skip_unless(not missing("matplotlib"), "matplotlib is not installed")
needs_nbconvert = skip_unless(
    not missing("nbconvert") and not missing("ipykernel"), "nbconvert or ipykernel is not installed")


def classical_row(dataset, compressor, mode, rate, mb_per_s):
    raw = 100 * 2048
    return {
        "dataset": dataset, "compressor": compressor, "mode": mode, "chunk_size": 2048,
        "chunks": 100, "raw_bytes": raw, "compressed_bytes": raw * rate / 100, "raw_rate": rate,
        "adjusted_rate": rate, "bits_per_byte": 8 * rate / 100, "seconds": raw / 1e6 / mb_per_s,
        "mb_per_s": mb_per_s, "parameters": 0, "verified_chunks": 100, "decodable": True,
        "counters": {}, "settings": {"level": 9}, "note": "",
    }


def lm_row(dataset, name, parameters, rate, checkpoint):
    row = classical_row(dataset, name, "chunked", rate, 0.003)
    row["parameters"] = parameters
    row["adjusted_rate"] = rate + 100 * 2 * parameters / row["raw_bytes"]
    row["settings"] = {"model": {"model": "byte_transformer", "parameters": parameters,
                                 "checkpoint": str(checkpoint)}}
    return row


def write_results(folder, rows):
    folder.mkdir(parents=True, exist_ok=True)
    results = {
        "schema": "lmc-bench/results/1",
        "run": {"program": "lmc-bench", "version": "0.1.0", "git_revision": "test"},
        "config": {"name": "synthetic", "chunk_size": 2048},
        "datasets": [{"name": d, "kind": d, "chunks": 100} for d in ("enwik-sample", "random")],
        "rows": rows,
    }
    (folder / "results.json").write_text(json.dumps(results))
    return results


# Step 20 is logged twice (a resumed run); the held-out value changes at steps 10 and 40 only.
TRAINING_LOG = """step,train_bpb,heldout_bpb,tokens_per_s,elapsed_s
10,8.4,9.0,2000,10
20,7.9,9.0,2000,20
20,7.5,9.0,2000,21
30,6.1,9.0,2000,30
40,5.2,5.6,2000,40
50,5.0,5.6,2000,50
"""

# A model trained in two stages, like the shipped ones: stage 1 ends at step 40 with a final
# evaluation (4.8); stage 2 starts from those weights, so its first held-out value is 4.8 again.
STAGE1_LOG = """step,train_bpb,heldout_bpb,tokens_per_s,elapsed_s
10,8.4,9.0,2000,10
20,6.0,9.0,2000,20
30,5.0,9.0,2000,30
40,4.6,4.8,2000,40
"""
STAGE2_LOG = """step,train_bpb,heldout_bpb,tokens_per_s,elapsed_s
10,4.5,4.8,900,10
20,4.2,4.8,900,20
30,4.0,4.1,900,30
"""
STAGED_TRAIN = [(10, 8.4), (20, 6.0), (30, 5.0), (40, 4.6), (50, 4.5), (60, 4.2), (70, 4.0)]
STAGED_HELDOUT = [(10, 9.0), (40, 4.8), (70, 4.1)]
STAGE2_ALONE_TRAIN = [(10, 4.5), (20, 4.2), (30, 4.0)]


def classical_rows():
    return [
        classical_row("enwik-sample", "gzip", "chunked", 48.1, 9.0),
        classical_row("enwik-sample", "gzip", "unchunked", 32.3, 12.0),
        classical_row("enwik-sample", "lzma2", "chunked", 50.0, 0.4),
        classical_row("enwik-sample", "lzma2", "unchunked", 23.0, 1.1),
        classical_row("random", "gzip", "chunked", 100.1, 30.0),
        classical_row("random", "gzip", "unchunked", 100.0, 12.0),
        classical_row("random", "lzma2", "chunked", 100.0, 0.4),
        classical_row("random", "lzma2", "unchunked", 100.0, 1.2),
    ]


IN_CONTEXT_GRID = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768,
                   1024, 1536, 2048]


def in_context_curve(dataset, compressor, parameters, header, end_rate):
    """A curve like `bench incontext` writes: a container header of `header` bytes plus one byte
    per byte at first, falling to end_rate % at 2048 bytes."""
    points = []
    for k in IN_CONTEXT_GRID:
        per_byte = 1.0 + (end_rate / 100 - header / 2048 - 1.0) * (k - 1) / 2047
        points.append({"bytes": k, "rate": round(100 * (header + k * per_byte) / k, 3)})
    return {"dataset": dataset, "dataset_kind": dataset.split("-")[0], "compressor": compressor,
            "compressor_kind": compressor, "chunks": 100, "parameters": parameters,
            "points": points}


def in_context_curves():
    return [
        in_context_curve("text-gcide", "gzip", 0, 20, 45.1),
        in_context_curve("text-gcide", "lzma2", 0, 59, 48.0),
        in_context_curve("text-gcide", "transformer-200k", 231936, 0.1, 57.0),
        in_context_curve("audio-sample", "gzip", 0, 20, 70.0),
        in_context_curve("audio-sample", "flac-paper", 0, 8299, 452.0),
        in_context_curve("audio-sample", "transformer-200k", 231936, 0.1, 75.0),
    ]


def write_in_context(folder, curves):
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "schema": "lmc-bench/in-context/1",
        "run": {"program": "lmc-bench", "version": "0.1.0", "git_revision": "test"},
        "config": {"name": "synthetic", "chunk_size": 2048},
        "chunk_size": 2048,
        "curves": curves,
    }
    (folder / "in_context.json").write_text(json.dumps(data))
    return data


def run_figures(*arguments, env=None):
    return subprocess.run([sys.executable, str(FIGURES_SCRIPT), *map(str, arguments)],
                          capture_output=True, text=True, timeout=300, env=env)


def png_size(path):
    data = path.read_bytes()
    return struct.unpack(">II", data[16:24])


class FiguresTestBase(unittest.TestCase):
    def setUp(self):
        self._temp = tempfile.TemporaryDirectory(prefix="lmc-figures-")
        self.addCleanup(self._temp.cleanup)
        self.root = Path(self._temp.name)
        checkpoints = self.root / "checkpoints"
        checkpoints.mkdir()
        (checkpoints / "tiny.train.csv").write_text(TRAINING_LOG)
        (checkpoints / "small.train.csv").write_text(TRAINING_LOG.replace(",5.6,", ",5.3,"))
        self.lm_results = self.root / "with-lm"
        self.results = write_results(self.lm_results, classical_rows() + [
            lm_row("enwik-sample", "tiny", 231936, 30.9, checkpoints / "tiny.lmct"),
            lm_row("enwik-sample", "small", 856832, 21.7, checkpoints / "small.lmct"),
            lm_row("random", "tiny", 231936, 195.5, checkpoints / "tiny.lmct"),
            lm_row("random", "small", 856832, 200.1, checkpoints / "small.lmct"),
        ])
        self.classical_results = self.root / "classical"
        write_results(self.classical_results, classical_rows())

    def assert_figure_files(self, folder, stems):
        for stem in stems:
            png, pdf = folder / f"{stem}.png", folder / f"{stem}.pdf"
            self.assertTrue(png.is_file(), png)
            self.assertTrue(pdf.is_file(), pdf)
            self.assertEqual(png.read_bytes()[:8], b"\x89PNG\r\n\x1a\n", png)
            self.assertEqual(pdf.read_bytes()[:5], b"%PDF-", pdf)
            self.assertGreater(png.stat().st_size, 10_000, png)
            self.assertGreater(pdf.stat().st_size, 5_000, pdf)
            width, height = png_size(png)
            self.assertGreaterEqual(width, PAPER_COLUMN_PIXELS[0] - 1, png)
            self.assertLessEqual(width, PAPER_COLUMN_PIXELS[1] + 1, png)
            self.assertGreater(height, 300, png)


@needs_matplotlib
class FiguresModuleTestBase(FiguresTestBase):
    """Tests that call notebooks/figures.py's functions directly (as self.figures)."""

    @classmethod
    def setUpClass(cls):
        sys.path.insert(0, str(REPO / "notebooks"))
        import figures
        cls.figures = figures


class FiguresScriptTest(FiguresTestBase):
    def test_writes_every_figure_and_finds_training_logs_next_to_checkpoints(self):
        done = run_figures(self.lm_results)
        self.assertEqual(done.returncode, 0, done.stderr)
        out = self.lm_results / "figures"
        self.assert_figure_files(out, ALL_FIGURES)
        written = [line for line in done.stdout.splitlines() if line.startswith("wrote ")]
        self.assertEqual(len(written), 2 * len(ALL_FIGURES), done.stdout)

    def test_training_logs_from_glob_and_out_folder(self):
        out = self.root / "elsewhere"
        done = run_figures(self.classical_results, "--training-logs",
                           self.root / "checkpoints" / "*.train.csv", "--out", out)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assert_figure_files(out, ("rates", "rate_vs_throughput", "training_curves"))

    def test_without_lm_rows_skips_model_size_with_a_notice(self):
        done = run_figures(self.classical_results)
        self.assertEqual(done.returncode, 0, done.stderr)
        out = self.classical_results / "figures"
        self.assert_figure_files(out, ("rates", "rate_vs_throughput"))
        self.assertFalse((out / "lm_model_size.png").exists())
        self.assertFalse((out / "training_curves.png").exists())
        self.assertIn("lm_model_size skipped", done.stdout)
        self.assertIn("training_curves skipped", done.stdout)

    def test_folder_without_results_json_exits_2(self):
        empty = self.root / "empty"
        empty.mkdir()
        done = run_figures(empty)
        self.assertEqual(done.returncode, 2)
        self.assertIn("results.json: not found", done.stderr)
        self.assertFalse((empty / "figures").exists())

    def test_wrong_schema_exits_2(self):
        folder = self.root / "other"
        folder.mkdir()
        (folder / "results.json").write_text(json.dumps({"schema": "something/else", "rows": []}))
        done = run_figures(folder)
        self.assertEqual(done.returncode, 2)
        self.assertIn("schema", done.stderr)

    def test_row_without_rate_exits_2_naming_the_row(self):
        rows = classical_rows()
        del rows[3]["raw_rate"]
        write_results(self.root / "broken", rows)
        done = run_figures(self.root / "broken")
        self.assertEqual(done.returncode, 2)
        self.assertIn("rows[3].raw_rate", done.stderr)

    def test_missing_matplotlib_is_a_quiet_success(self):
        shadow = self.root / "no-matplotlib"
        (shadow / "matplotlib").mkdir(parents=True)
        (shadow / "matplotlib" / "__init__.py").write_text("raise ImportError('hidden by test')\n")
        env = dict(os.environ, PYTHONPATH=str(shadow))
        done = run_figures(self.lm_results, env=env)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(len(done.stdout.strip().splitlines()), 1, done.stdout)
        self.assertIn("matplotlib is not installed", done.stdout)
        self.assertFalse((self.lm_results / "figures").exists())


@needs_matplotlib
class FiguresFunctionsTest(FiguresModuleTestBase):
    def test_training_log_keeps_last_duplicate_and_heldout_changes(self):
        log = self.figures.read_training_log(self.root / "checkpoints" / "tiny.train.csv")
        self.assertEqual(log["name"], "tiny")
        self.assertEqual(log["train"], [(10, 8.4), (20, 7.5), (30, 6.1), (40, 5.2), (50, 5.0)])
        self.assertEqual(log["heldout"], [(10, 9.0), (40, 5.6)])

    def test_table_rows_put_whole_first_and_models_last_by_size(self):
        keys = [(chunk, compressor) for chunk, compressor, _ in self.figures.table_rows(self.results)]
        self.assertEqual(keys, [("whole", "gzip"), ("whole", "lzma2"), ("2048", "gzip"),
                                ("2048", "lzma2"), ("2048", "tiny"), ("2048", "small")])
        adjusted = dict(((c, k), v) for c, k, v in self.figures.table_rows(self.results,
                                                                          "adjusted_rate"))
        self.assertAlmostEqual(adjusted[("2048", "tiny")]["enwik-sample"], 30.9 + 226.5, places=1)

    def test_lm_rows_are_recognised_by_parameters_or_model_settings(self):
        rows = self.results["rows"]
        self.assertEqual([r["compressor"] for r in rows if self.figures.is_lm_row(r)],
                         ["tiny", "small", "tiny", "small"])
        self.assertEqual(self.figures.model_bytes(rows[-1]), 2 * 856832)

    def test_rate_axis_turns_logarithmic_only_when_adjusted_rates_explode(self):
        with_lm = self.figures.rates_figure(self.results)
        classical = self.figures.rates_figure(self.figures.load_results(self.classical_results))
        self.assertEqual(with_lm.axes[0].get_yscale(), "log")
        self.assertEqual(classical.axes[0].get_yscale(), "linear")
        self.assertLessEqual(with_lm.axes[0].get_ylim()[0], 20.0)  # classical bars stay visible

    def test_every_axis_says_which_way_is_better(self):
        figs = [self.figures.rates_figure(self.results),
                self.figures.rate_vs_throughput_figure(self.results),
                self.figures.lm_model_size_figure(self.results)]
        for fig in figs:
            first = fig.axes[0]
            self.assertIn("lower is better", first.get_ylabel())
        self.assertIn("faster", figs[1].axes[0].get_xlabel())
        self.assertIn("bytes", figs[2].axes[0].get_xlabel())


@needs_matplotlib
class TrainingStagesTest(FiguresModuleTestBase):
    """X-stage1.train.csv beside X.train.csv: one model, stage 2 shifted past stage 1."""

    def setUp(self):
        super().setUp()
        self.staged = self.root / "staged" / "models" / "checkpoints"
        self.staged.mkdir(parents=True)
        self.stage1 = self.staged / "tiny-stage1.train.csv"
        self.stage2 = self.staged / "tiny.train.csv"
        self.stage1.write_text(STAGE1_LOG)
        self.stage2.write_text(STAGE2_LOG)
        (self.staged / "small.train.csv").write_text(TRAINING_LOG)
        # Relative checkpoint paths, as configs/pretrained.json names them, found from a root.
        self.staged_results = {"rows": classical_rows() + [
            lm_row("enwik-sample", "tiny", 231936, 30.9, "models/checkpoints/tiny.lmct"),
            lm_row("enwik-sample", "small", 856832, 21.7, "models/checkpoints/small.lmct"),
            lm_row("random", "tiny", 231936, 195.5, "models/checkpoints/tiny.lmct"),
        ]}

    def read(self, *paths):
        return [self.figures.read_training_log(p) for p in paths]

    def test_stage2_is_shifted_by_the_last_step_of_stage1(self):
        [joined] = self.figures.combine_training_stages(self.read(self.stage1, self.stage2))
        self.assertEqual(joined["name"], "tiny")
        self.assertEqual(joined["path"], str(self.stage2))
        self.assertEqual(joined["stage_paths"], [str(self.stage1), str(self.stage2)])
        self.assertEqual(joined["train"], STAGED_TRAIN)
        # Stage 2's first held-out 4.8 re-evaluates the stage-1 weights: not a second point.
        self.assertEqual(joined["heldout"], STAGED_HELDOUT)
        self.assertEqual(joined["stage_starts"], [40])
        self.assertEqual(joined["last_step"], 70)

    def test_the_offset_is_the_last_logged_step_even_without_a_train_value(self):
        self.stage1.write_text(STAGE1_LOG + "45,nan,4.8,2000,45\n")
        [joined] = self.figures.combine_training_stages(self.read(self.stage1, self.stage2))
        self.assertEqual(joined["stage_starts"], [45])
        self.assertEqual(joined["train"][3:], [(40, 4.6), (55, 4.5), (65, 4.2), (75, 4.0)])
        self.assertEqual(joined["heldout"], [(10, 9.0), (40, 4.8), (75, 4.1)])

    def test_discovery_from_results_lists_stage1_just_before_its_stage2(self):
        roots = [self.root / "nowhere", self.root / "staged"]
        paths = self.figures.training_logs_from_results(self.staged_results, roots)
        self.assertEqual(paths, [self.stage1.resolve(), self.stage2.resolve(),
                                 (self.staged / "small.train.csv").resolve()])
        logs = self.figures.combine_training_stages(self.read(*paths))
        self.assertEqual([log["name"] for log in logs], ["tiny", "small"])
        self.assertEqual(logs[0]["train"], STAGED_TRAIN)
        self.assertEqual(logs[1]["stage_starts"], [])
        self.assertEqual(logs[1]["train"], [(10, 8.4), (20, 7.5), (30, 6.1), (40, 5.2), (50, 5.0)])

    def test_explicit_logs_in_any_order_are_combined_the_same_way(self):
        logs = self.read(self.staged / "small.train.csv", self.stage2, self.stage1)
        combined = self.figures.combine_training_stages(logs)
        self.assertEqual([log["name"] for log in combined], ["small", "tiny"])
        self.assertEqual(combined[1]["train"], STAGED_TRAIN)
        self.assertEqual(combined[1]["heldout"], STAGED_HELDOUT)
        # Joining is idempotent: the figure may be handed logs that are already combined.
        again = self.figures.combine_training_stages(combined)
        self.assertEqual([log["train"] for log in again], [log["train"] for log in combined])

    def test_missing_stage1_leaves_stage2_at_its_own_steps(self):
        self.stage1.unlink()
        paths = self.figures.training_logs_from_results(self.staged_results, [self.root / "staged"])
        self.assertEqual(paths, [self.stage2.resolve(), (self.staged / "small.train.csv").resolve()])
        tiny = self.figures.combine_training_stages(self.read(*paths))[0]
        self.assertEqual((tiny["name"], tiny["train"], tiny["stage_starts"]),
                         ("tiny", STAGE2_ALONE_TRAIN, []))

    def test_empty_stage1_leaves_stage2_at_its_own_steps(self):
        for content in ("", "step,train_bpb,heldout_bpb,tokens_per_s,elapsed_s\n"):
            self.stage1.write_text(content)
            stage1 = self.figures.read_training_log(self.stage1)
            self.assertEqual((stage1["train"], stage1["heldout"], stage1["last_step"]),
                             ([], [], None))
            [tiny] = self.figures.combine_training_stages(self.read(self.stage1, self.stage2))
            self.assertEqual((tiny["name"], tiny["train"], tiny["stage_starts"]),
                             ("tiny", STAGE2_ALONE_TRAIN, []))
            self.assertEqual(tiny["heldout"], [(10, 4.8), (30, 4.1)])

    def test_stage1_without_its_stage2_stays_a_model_of_its_own(self):
        [alone] = self.figures.combine_training_stages(self.read(self.stage1))
        self.assertEqual(alone["name"], "tiny-stage1")
        self.assertEqual(alone["stage_starts"], [])
        self.assertEqual(alone["train"], STAGED_TRAIN[:4])

    def test_figure_draws_one_curve_per_model_and_marks_stage2(self):
        paths = self.figures.training_logs_from_results(self.staged_results, [self.root / "staged"])
        fig = self.figures.training_curves_figure(self.read(*paths))
        ax = fig.axes[0]
        legend = legend_texts(fig)
        self.assertEqual([t for t in legend if t in ("tiny", "small")], ["tiny", "small"])
        self.assertNotIn("tiny-stage1", legend)
        lines = {tuple(line.get_xdata()): list(line.get_ydata()) for line in ax.get_lines()}
        self.assertEqual(lines[tuple(s for s, _ in STAGED_HELDOUT)],
                         [v for _, v in STAGED_HELDOUT])
        self.assertEqual(lines[tuple(s for s, _ in STAGED_TRAIN)], [v for _, v in STAGED_TRAIN])
        self.assertIn((40, 40), lines)  # the vertical stage-2 marker
        self.assertEqual([text.get_text() for text in ax.texts], ["stage 2"])
        self.assertEqual(ax.get_xlabel(), "training step")
        self.assertIn("lower is better", ax.get_ylabel())
        self.assertGreaterEqual(ax.get_xlim()[1], 70)

    def test_script_finds_and_draws_both_stages(self):
        results = self.root / "staged" / "results"
        write_results(results, classical_rows() + [
            lm_row("enwik-sample", "tiny", 231936, 30.9, self.staged / "tiny.lmct")])
        done = run_figures(results, "--out", self.root / "out-found")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assert_figure_files(self.root / "out-found", ALL_FIGURES)
        self.stage1.write_text("")  # an empty stage 1 is no reason to fail
        done = run_figures(self.classical_results, "--training-logs",
                           self.staged / "*.train.csv", "--out", self.root / "out-glob")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assert_figure_files(self.root / "out-glob", ("training_curves",))


def legend_texts(fig):
    """Every legend entry of a figure, panel by panel (the training curves split theirs)."""
    return [text.get_text() for axes in fig.axes if axes.get_legend()
            for text in axes.get_legend().get_texts()]


def with_tokens(log_text, tokens_per_step):
    """A training log with the trainer's tokens column (step x tokens_per_step) appended."""
    lines = log_text.splitlines()
    rows = [f"{line},{int(line.split(',')[0]) * tokens_per_step}" for line in lines[1:]]
    return "\n".join([lines[0] + ",tokens"] + rows) + "\n"


@needs_matplotlib
class TrainingTokensTest(FiguresModuleTestBase):
    """The tokens column, stages beyond two, and the extrapolation of a staged model."""

    def setUp(self):
        super().setUp()
        self.folder = self.root / "tokens"
        self.folder.mkdir()
        # Three stages of one model at 100 tokens per step, and a one-stage model beside it.
        self.stages = [self.folder / name for name in
                       ("tiny-stage1.train.csv", "tiny-stage2.train.csv", "tiny.train.csv")]
        for path, text in zip(self.stages, (STAGE1_LOG, STAGE2_LOG, STAGE2_LOG)):
            path.write_text(with_tokens(text, 100))
        self.small = self.folder / "small.train.csv"
        self.small.write_text(with_tokens(TRAINING_LOG, 100))

    def read(self, *paths):
        return [self.figures.read_training_log(p) for p in paths]

    def test_tokens_per_step_comes_from_the_column(self):
        [log] = self.read(self.small)
        self.assertEqual(log["tokens_per_step"], 100)
        self.assertEqual(self.figures.in_tokens(log)["heldout"], [(1000, 9.0), (4000, 5.6)])
        self.small.write_text(TRAINING_LOG)
        self.assertIsNone(self.read(self.small)[0]["tokens_per_step"])

    def test_a_tokens_column_that_is_not_one_batch_size_is_an_error(self):
        self.small.write_text(with_tokens(TRAINING_LOG, 100).replace(",5000\n", ",6000\n"))
        with self.assertRaises(self.figures.ResultsError) as caught:
            self.read(self.small)
        self.assertIn(str(self.small), str(caught.exception))
        self.assertIn("tokens per step", str(caught.exception))

    def test_three_stages_join_in_order(self):
        paths = self.figures.training_logs_from_results(
            {"rows": [lm_row("enwik-sample", "tiny", 231936, 30.9, "tiny.lmct")]}, [self.folder])
        self.assertEqual(paths, [p.resolve() for p in self.stages])
        [joined] = self.figures.combine_training_stages(self.read(*reversed(paths)))
        self.assertEqual(joined["name"], "tiny")
        self.assertEqual(joined["stage_paths"], [str(p.resolve()) for p in self.stages])
        self.assertEqual(joined["stage_starts"], [40, 70])
        self.assertEqual(joined["last_step"], 100)
        self.assertEqual(joined["heldout"], [(10, 9.0), (40, 4.8), (70, 4.1), (80, 4.8),
                                             (100, 4.1)])
        self.assertEqual(self.figures.stage_end_points(joined), [(40, 4.8), (70, 4.1), (100, 4.1)])

    def test_a_half_written_tokens_cell_is_skipped(self):
        self.small.write_text(with_tokens(TRAINING_LOG, 100) + "60,4.9,5.6,2000,60,\n")
        [log] = self.read(self.small)
        self.assertEqual(log["tokens_per_step"], 100)

    def test_an_empty_last_stage_still_joins_the_earlier_ones(self):
        self.stages[2].write_text("step,train_bpb,heldout_bpb,tokens_per_s,elapsed_s,tokens\n")
        fig = self.figures.training_curves_figure(self.read(*self.stages, self.small))
        ax = fig.axes[0]
        self.assertEqual(ax.get_xlabel(), "training tokens (millions)")
        legend = legend_texts(fig)
        self.assertEqual([t for t in legend if t in ("tiny", "small")], ["tiny", "small"])

    def test_a_fit_too_flat_to_reach_the_target_is_infinite(self):
        self.assertEqual(self.figures.x_to_reach((4.0, -1e-4), 3.0), math.inf)

    def test_log_linear_fit_and_where_it_reaches_a_target(self):
        a, b = self.figures.log_linear_fit([(1e6, 3.0), (1e7, 2.5)])
        self.assertAlmostEqual(b, -0.5 / math.log(10))
        self.assertAlmostEqual(a + b * math.log(1e8), 2.0)
        self.assertAlmostEqual(self.figures.x_to_reach((a, b), 2.0) / 1e8, 1.0)
        self.assertIsNone(self.figures.x_to_reach((1.0, 0.1), 0.5))
        self.assertIsNone(self.figures.log_linear_fit([(1e6, 3.0)]))

    def test_figure_in_tokens_draws_the_extrapolation_to_the_best_other_model(self):
        # tiny's stage ends fall from 4.8 to 4.0 over two stages; small ends at 3.9, lower.
        self.stages[2].write_text(with_tokens(STAGE2_LOG.replace(",4.1,", ",4.0,"), 100))
        self.small.write_text(with_tokens(TRAINING_LOG.replace(",5.6,", ",3.9,"), 100))
        logs = self.read(*self.stages, self.small)
        fig = self.figures.training_curves_figure(logs)
        ax = fig.axes[0]
        self.assertEqual(ax.get_xlabel(), "training tokens (millions)")
        joined = self.figures.combine_training_stages(
            [self.figures.in_tokens(log) for log in logs])[0]
        fit, target, reach = self.figures.extrapolation(joined, {"tiny": 4.0, "small": 3.9})
        self.assertEqual(target, 3.9)
        self.assertAlmostEqual(fit[0] + fit[1] * math.log(reach), 3.9)
        self.assertGreater(reach, 10000)
        texts = [text.get_text() for text in ax.texts]
        self.assertEqual(texts[:2], ["stage 2", "stage 3"])
        self.assertEqual(texts[2], f"3.90 at {reach * 1e-6:.3g}M tokens")
        legend = legend_texts(fig)
        self.assertIn(
            f"log-linear fit of the last {self.figures.FIT_STAGE_ENDS} stage ends", legend)
        # The zoomed panel: held-out curves only, from just below the best final value (3.9) to
        # ZOOM_SPAN_BPB above it, each final value labelled.
        zoom = fig.axes[1]
        self.assertAlmostEqual(zoom.get_ylim()[1], 3.9 + self.figures.ZOOM_SPAN_BPB)
        self.assertLess(zoom.get_ylim()[0], 3.9)
        zoom_texts = [t.get_text() for t in zoom.texts]
        self.assertIn("3.900", zoom_texts)
        self.assertIn("4.000", zoom_texts)

    def test_the_extrapolation_follows_the_last_stage_ends(self):
        # Four stage ends: a steep first drop, then a flat recent trend that the fit follows.
        log = {"name": "m", "heldout": [(1e6, 6.0), (2e6, 3.0), (4e6, 2.9), (8e6, 2.8)],
               "train": [], "stage_starts": [1e6, 2e6, 4e6]}
        fit, _, _ = self.figures.extrapolation(log, {})
        self.assertAlmostEqual(fit[1], -0.1 / math.log(2))


@needs_matplotlib
class InContextTest(FiguresModuleTestBase):
    """in_context.json (`bench incontext`, the paper's Figure 4): loader, figure and script."""

    def setUp(self):
        super().setUp()
        self.in_context_dir = self.root / "in-context"
        self.in_context = write_in_context(self.in_context_dir, in_context_curves())
        self.in_context_path = self.in_context_dir / "in_context.json"

    def assert_rejected(self, data, *expected):
        self.in_context_path.write_text(json.dumps(data))
        with self.assertRaises(self.figures.ResultsError) as caught:
            self.figures.load_in_context(self.in_context_dir)
        message = str(caught.exception)
        self.assertTrue(message.startswith(f"{self.in_context_path}: "), message)
        for text in expected:
            self.assertIn(text, message)

    def test_loader_returns_the_file(self):
        self.assertEqual(self.figures.load_in_context(self.in_context_dir), self.in_context)

    def test_loader_rejects_a_wrong_schema(self):
        for schema in ("lmc-bench/results/1", None):
            data = dict(self.in_context, schema=schema)
            self.assert_rejected(data, "schema is", "lmc-bench/in-context/")

    def test_loader_names_the_missing_key(self):
        cases = [
            (("curves", 4, "compressor"), "curves[4].compressor is missing or not a string"),
            (("curves", 0, "parameters"), "curves[0].parameters is missing or not a number"),
            (("curves", 2, "points"), "curves[2].points is missing or not a list"),
            (("curves", 1, "points", 3, "rate"), "curves[1].points[3].rate is missing"),
            (("curves", 5, "points", 0, "bytes"), "curves[5].points[0].bytes is missing"),
        ]
        for keys, expected in cases:
            data = json.loads(json.dumps(self.in_context))
            parent = data
            for key in keys[:-1]:
                parent = parent[key]
            del parent[keys[-1]]
            self.assert_rejected(data, expected)
        without_curves = {k: v for k, v in self.in_context.items() if k != "curves"}
        self.assert_rejected(without_curves, "'curves' must be a list")
        without_chunk_size = {k: v for k, v in self.in_context.items() if k != "chunk_size"}
        self.assert_rejected(without_chunk_size, "chunk_size is missing")

    def test_loader_rejects_bad_values(self):
        data = json.loads(json.dumps(self.in_context))
        data["curves"][0]["points"][0]["bytes"] = 0  # no log axis for a zero-byte prefix
        self.assert_rejected(data, "curves[0].points[0].bytes is 0, expected >= 1")
        data = json.loads(json.dumps(self.in_context))
        data["curves"][3]["points"][2]["rate"] = True
        self.assert_rejected(data, "curves[3].points[2].rate is missing or not a number")
        data = json.loads(json.dumps(self.in_context))
        data["curves"][1]["points"] = []
        self.assert_rejected(data, "curves[1].points is empty")
        self.in_context_path.write_text("{")
        with self.assertRaisesRegex(self.figures.ResultsError, "in_context.json: not valid JSON"):
            self.figures.load_in_context(self.in_context_dir)
        with self.assertRaisesRegex(self.figures.ResultsError, "in_context.json: not found"):
            self.figures.load_in_context(self.root / "classical")

    def test_figure_draws_every_curve_in_its_dataset_panel(self):
        fig = self.figures.in_context_figure(self.in_context)
        self.assertEqual([ax.get_title() for ax in fig.axes],
                         ["text-gcide (100 chunks)", "audio-sample (100 chunks)"])
        curves = in_context_curves()
        colors = {}
        for ax, dataset in zip(fig.axes, ["text-gcide", "audio-sample"]):
            self.assertEqual(ax.get_xscale(), "log")
            self.assertEqual(ax.xaxis.get_transform().base, 2)
            self.assertEqual(ax.get_yscale(), "log")
            self.assertEqual(ax.get_xlabel(), "prefix length (bytes)")
            self.assertEqual(list(ax.get_xticks()), [1, 4, 16, 64, 256, 2048])
            expected = [c for c in curves if c["dataset"] == dataset]
            lines = ax.get_lines()
            self.assertEqual(len(lines), len(expected) + 1)  # + the 100 % line
            raw_size = lines[-1]
            self.assertEqual(list(raw_size.get_ydata()), [100.0, 100.0])
            self.assertEqual(raw_size.get_linestyle(), ":")
            self.assertEqual([t.get_text() for t in ax.texts], ["raw size"])
            by_label = {line.get_label(): line for line in lines[:-1]}
            self.assertEqual(sorted(by_label), sorted(c["compressor"] for c in expected))
            for curve in expected:
                line = by_label[curve["compressor"]]
                self.assertEqual(list(line.get_xdata()), IN_CONTEXT_GRID)
                self.assertEqual(list(line.get_ydata()), [p["rate"] for p in curve["points"]])
                colors.setdefault(curve["compressor"], line.get_color())
                self.assertEqual(line.get_color(), colors[curve["compressor"]])
            model, gzip = by_label["transformer-200k"], by_label["gzip"]
            self.assertEqual((model.get_linestyle(), gzip.get_linestyle()), ("-", "--"))
            self.assertGreater(model.get_linewidth(), gzip.get_linewidth())
            # Headers: gzip starts at 2100 %, the model near 110 %; both end below 100 %.
            self.assertAlmostEqual(list(gzip.get_ydata())[0], 2100.0)
            self.assertLess(list(gzip.get_ydata())[-1], 100.0)
            # Every point is inside the axes, the 1,000,000 % of flac-paper at 1 byte included.
            low, high = ax.get_ylim()
            self.assertLess(low, min(p["rate"] for c in expected for p in c["points"]))
            self.assertGreater(high, max(p["rate"] for c in expected for p in c["points"]))
        self.assertEqual(len(set(colors.values())), 4)  # one colour per compressor
        self.assertIn("lower is better", fig.axes[0].get_ylabel())
        self.assertEqual(fig.axes[1].get_ylabel(), "")
        self.assertIn("In-context compression (the paper's Figure 4)",
                      [t.get_text() for t in fig.texts])
        legends = [[t.get_text() for t in legend.get_texts()]
                   for sub in fig.subfigs for legend in sub.legends]
        self.assertEqual(legends, [
            ["gzip", "lzma2", "flac-paper", "transformer-200k"],
            ["language model", "classical codec (container headers counted)"]])

    def test_figure_is_none_without_curves(self):
        self.assertIsNone(self.figures.in_context_figure(dict(self.in_context, curves=[])))

    def test_x_ticks_end_at_the_chunk_size(self):
        ticks = self.figures._in_context_ticks
        self.assertEqual(ticks(2048), [1, 4, 16, 64, 256, 2048])
        self.assertEqual(ticks(1024), [1, 4, 16, 64, 256, 1024])
        self.assertEqual(ticks(512), [1, 4, 16, 64, 512])
        self.assertEqual(ticks(1), [1])

    def test_script_on_an_in_context_folder_writes_only_that_figure(self):
        done = run_figures(self.in_context_dir)
        self.assertEqual(done.returncode, 0, done.stderr)
        out = self.in_context_dir / "figures"
        self.assert_figure_files(out, ("in_context",))
        self.assertEqual(sorted(p.name for p in out.iterdir()), ["in_context.pdf", "in_context.png"])
        self.assertEqual(done.stdout.splitlines(),
                         [f"wrote {out / 'in_context.png'}", f"wrote {out / 'in_context.pdf'}"])

    def test_script_with_results_and_in_context_writes_all(self):
        write_in_context(self.lm_results, in_context_curves())
        done = run_figures(self.lm_results)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assert_figure_files(self.lm_results / "figures", ALL_FIGURES + ("in_context",))
        written = [line for line in done.stdout.splitlines() if line.startswith("wrote ")]
        self.assertEqual(len(written), 2 * (len(ALL_FIGURES) + 1), done.stdout)

    def test_script_with_results_and_no_curves_skips_with_a_notice(self):
        write_in_context(self.classical_results, [])
        done = run_figures(self.classical_results)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("in_context skipped (no curves in in_context.json)", done.stdout)
        self.assertFalse((self.classical_results / "figures" / "in_context.png").exists())
        self.assert_figure_files(self.classical_results / "figures", ("rates",))

    def test_script_rejects_bad_in_context_files_with_exit_2(self):
        write_in_context(self.in_context_dir, [])
        done = run_figures(self.in_context_dir)
        self.assertEqual(done.returncode, 2)
        self.assertEqual(done.stderr, f"figures: {self.in_context_path}: no curves\n")
        data = dict(self.in_context, schema="lmc-bench/results/1")
        for folder in (self.in_context_dir, self.lm_results):  # with and without results.json
            (folder / "in_context.json").write_text(json.dumps(data))
            done = run_figures(folder)
            self.assertEqual(done.returncode, 2)
            self.assertEqual(len(done.stderr.splitlines()), 1, done.stderr)
            self.assertIn(f"{folder / 'in_context.json'}: schema is", done.stderr)
            self.assertFalse((folder / "figures").exists())


def write_generation(folder, samplers=("gzip", "lm")):
    """A `bench samples` folder: generation.json, a gray 32 x 64 PNG and an 8-bit WAV per
    sampler and the original (written with matplotlib and the wave module)."""
    import matplotlib.image
    import wave
    folder.mkdir(parents=True, exist_ok=True)
    inputs = []
    for modality, extension in (("image", "png"), ("audio", "wav")):
        files = {}
        for number, name in enumerate(("original",) + tuple(samplers)):
            files[name] = f"{modality}-{name}.{extension}"
            if modality == "image":
                pixels = [[(3 * row + column + 40 * number) % 256 for column in range(64)]
                          for row in range(32)]
                matplotlib.image.imsave(folder / files[name], pixels, cmap="gray", vmin=0,
                                        vmax=255)
            else:
                with wave.open(str(folder / files[name]), "wb") as sound:
                    sound.setnchannels(1)
                    sound.setsampwidth(1)
                    sound.setframerate(16000)
                    sound.writeframes(bytes((128 + (i * (number + 1)) % 50) for i in range(2048)))
        inputs.append({"name": modality, "modality": modality, "chunk": 3,
                       "original": files["original"],
                       "samples": [{"sampler": s, "file": files[s]} for s in samplers]})
    data = {"schema": "lmc-bench/generation/1", "inputs": inputs}
    (folder / "generation.json").write_text(json.dumps(data))
    return data


@needs_matplotlib
class GenerationTest(FiguresModuleTestBase):
    """generation.json (`bench samples`, the paper's Figure 3): loader, figure and script."""

    def setUp(self):
        super().setUp()
        self.folder = self.root / "samples"
        self.data = write_generation(self.folder)

    def test_figure_has_an_image_row_and_an_audio_row_per_sampler(self):
        fig = self.figures.generation_figure(self.figures.load_generation(self.folder),
                                             self.folder)
        titles = [ax.get_title() for ax in fig.axes]
        self.assertEqual(titles, ["original", "gzip", "lm"] * 2)
        self.assertEqual(len(fig.axes[0].images), 1)
        self.assertEqual(len(fig.axes[3].lines), 2)  # the original and the given|sampled line
        self.assertEqual(len(fig.axes[4].lines), 3)  # the original in grey below the sample

    def test_script_on_a_samples_folder_writes_only_that_figure(self):
        done = run_figures(self.folder)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assert_figure_files(self.folder / "figures", ("generation",))

    def test_a_missing_file_is_named(self):
        (self.folder / "audio-lm.wav").unlink()
        done = run_figures(self.folder)
        self.assertEqual(done.returncode, 2)
        self.assertIn("inputs[1] names audio-lm.wav, which is not in", done.stderr)
        self.assertFalse((self.folder / "figures").exists())


@needs_matplotlib
@needs_nbconvert
class NotebookTest(FiguresTestBase):
    def test_notebook_runs_headless_against_lmc_results(self):
        output = self.root / "executed.ipynb"
        env = dict(os.environ, LMC_RESULTS=str(self.lm_results), PYDEVD_DISABLE_FILE_VALIDATION="1")
        done = subprocess.run(
            [sys.executable, "-m", "nbconvert", "--to", "notebook", "--execute", str(NOTEBOOK),
             "--output", str(output), "--ExecutePreprocessor.timeout=300"],
            capture_output=True, text=True, timeout=600, env=env)
        self.assertEqual(done.returncode, 0, done.stderr[-3000:])
        notebook = json.loads(output.read_text())
        outputs = [o for cell in notebook["cells"] if cell["cell_type"] == "code"
                   for o in cell["outputs"]]
        self.assertFalse([o for o in outputs if o["output_type"] == "error"])
        markdown = "".join("".join(o.get("data", {}).get("text/markdown", "")) for o in outputs)
        # lzma2 chunked on the enwik stand-in: 50.0 here, 50.0 in the paper.
        self.assertIn("| 2048 | lzma2 | LZMA2 | 50.0 vs 50.0 (+0.0) |", markdown)
        self.assertIn("| whole | gzip | gzip | 32.3 vs 32.3 (+0.0) | 100.0 vs 100.0 (+0.0) |",
                      markdown)
        self.assertIn("| 2048 | tiny | Transformer 200K | 30.9 vs 30.9 (+0.0) |", markdown)
        images = [o for o in outputs if "image/png" in o.get("data", {})]
        self.assertEqual(len(images), len(ALL_FIGURES))
        self.assert_figure_files(self.lm_results / "figures", ALL_FIGURES)


if __name__ == "__main__":
    unittest.main()
