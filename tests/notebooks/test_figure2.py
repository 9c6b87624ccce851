#!/usr/bin/python3
"""Tests for notebooks/figure2.py (the paper's Figure 2: model size against data size).

    /usr/bin/python3 tests/notebooks/test_figure2.py
"""

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "notebooks" / "figure2.py"
sys.path.insert(0, str(REPO / "notebooks"))
import figure2  # noqa: E402

HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


def row(compressor, parameters, raw_rate, dataset="enwiki-2016-heldout"):
    return {"dataset": dataset, "compressor": compressor, "mode": "chunked",
            "raw_rate": raw_rate, "adjusted_rate": raw_rate, "mb_per_s": 0.01,
            "parameters": parameters, "settings": {"model": {}} if parameters else {}}


# Raw rates falling with size, as trained models do: 64x4, 128x4, 256x4, 256x8.
ROWS = [row("gzip", 0, 51.1), row("t256x8", 6_400_000, 27.0), row("t64x4", 232_000, 33.0),
        row("t128x4", 857_000, 30.0), row("t256x4", 3_290_000, 28.0)]


class Figure2Test(unittest.TestCase):
    def test_points_are_the_models_by_size_without_classical_rows(self):
        dataset, points = figure2.model_points({"rows": ROWS})
        self.assertEqual(dataset, "enwiki-2016-heldout")
        self.assertEqual([p[0] for p in points], ["t64x4", "t128x4", "t256x4", "t256x8"])

    def test_the_optimum_grows_with_the_data(self):
        _, points = figure2.model_points({"rows": ROWS})
        # Adjusted at 1e6 / 1e7 / 1e8 / 1e9 bytes: 64x4 79.4 / 37.6 / 33.5 / 33.0; 128x4 201 /
        # 47.1 / 31.7 / 30.2; 256x4 686 / 93.8 / 34.6 / 28.7; 256x8 1307 / 155 / 39.8 / 28.3.
        self.assertEqual(figure2.optimum(points, 1e6)[0], "t64x4")
        self.assertEqual(figure2.optimum(points, 1e7)[0], "t64x4")
        self.assertEqual(figure2.optimum(points, 1e8)[0], "t128x4")
        self.assertEqual(figure2.optimum(points, 1e9)[0], "t256x8")
        self.assertAlmostEqual(figure2.adjusted_rate(28.0, 3_290_000, 1e9), 28.658)

    def test_markdown_marks_each_optimum(self):
        _, points = figure2.model_points({"rows": ROWS})
        text = figure2.figure2_markdown(points, "enwiki-2016-heldout")
        line = next(l for l in text.splitlines() if l.startswith("| t256x8"))
        self.assertIn("| 6,400,000 | 27.0 |", line)
        self.assertTrue(line.endswith("**28.3** |"), line)
        self.assertEqual(text.count("**"), 2 * 4)

    def test_fewer_than_two_models_is_an_error(self):
        with self.assertRaisesRegex(Exception, "1 language-model rows"):
            figure2.model_points({"rows": [row("t64x4", 232_000, 33.0), row("gzip", 0, 50.0)]})

    @unittest.skipUnless(HAVE_MATPLOTLIB or os.environ.get("CI") == "true", "no matplotlib")
    def test_command_writes_figure_and_table(self):
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "results.json").write_text(
                json.dumps({"schema": "lmc-bench/results/1", "rows": ROWS}))
            done = subprocess.run([sys.executable, SCRIPT, folder], capture_output=True, text=True)
            self.assertEqual(done.returncode, 0, done.stderr)
            for name in ("figure2.png", "figure2.pdf", "figure2.md"):
                self.assertTrue((Path(folder) / "figures" / name).is_file(), name)
            (Path(folder) / "results.json").write_text("[]")
            done = subprocess.run([sys.executable, SCRIPT, folder], capture_output=True, text=True)
            self.assertEqual(done.returncode, 2)
            self.assertIn("results.json", done.stderr)


if __name__ == "__main__":
    unittest.main()
