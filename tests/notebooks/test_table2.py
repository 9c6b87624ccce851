#!/usr/bin/python3
"""Tests for notebooks/table2.py (the paper's Table 2 layout) on synthetic results.

    /usr/bin/python3 tests/notebooks/test_table2.py
"""

import json
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "notebooks" / "table2.py"
sys.path.insert(0, str(REPO / "notebooks"))
import table2  # noqa: E402


def row(compressor, kind, raw_rate, *, architecture=None, model_format=None, tokens=None,
        chunks=32, verified=32, parameters=231936, dataset="enwiki-2016-heldout"):
    model = {"architecture": architecture} if architecture else {}
    if model_format:
        model["format"] = model_format
    result = {"dataset": dataset, "compressor": compressor, "compressor_kind": kind,
              "mode": "chunked", "chunk_size": 2048, "chunks": chunks, "verified_chunks": verified,
              "raw_rate": raw_rate, "adjusted_rate": raw_rate, "mb_per_s": 0.01,
              "parameters": parameters, "settings": {"model": model} if model else {},
              "counters": {"tokens": tokens} if tokens is not None else {}}
    return result


def arch(embedding_dim, layers, vocab_size=256):
    return {"embedding_dim": embedding_dim, "layers": layers, "heads": 4,
            "vocab_size": vocab_size}


def results(rows):
    return {"schema": "lmc-bench/results/1", "rows": rows}


class Table2Test(unittest.TestCase):
    def cells(self):
        return table2.table2_cells(results([
            row("gzip", "gzip", 51.1),
            row("t-ascii", "lm", 32.3, architecture=arch(64, 4)),
            row("t-bpe1k", "pretrained", 30.5, architecture=arch(64, 4, 1000), model_format="lmct",
                tokens=32 * 966, parameters=328424),
            row("t-800k-bpe20k", "pretrained", 27.0, architecture=arch(128, 4, 20000),
                model_format="lmct", tokens=32 * 580, verified=31, parameters=3413000),
            row("stories", "pretrained", 74.4, architecture=arch(64, 5, 512),
                model_format="llama2c", tokens=14463),
            row("t-ascii", "lm", 40.0, architecture=arch(64, 4), dataset="prose"),
        ]))

    def test_cells_are_tokenizer_by_architecture_on_the_first_dataset(self):
        cells = self.cells()
        self.assertEqual(set(cells), {("ASCII", (64, 4)), ("BPE1K", (64, 4)),
                                      ("BPE20K", (128, 4))})
        self.assertEqual(cells[("ASCII", (64, 4))]["raw_rate"], 32.3)
        self.assertEqual(cells[("ASCII", (64, 4))]["tokens_per_chunk"], 2048.0)
        self.assertEqual(cells[("BPE1K", (64, 4))]["tokens_per_chunk"], 966.0)
        self.assertFalse(cells[("BPE20K", (128, 4))]["verified"])

    def test_markdown_has_the_papers_layout_and_values(self):
        text = table2.table2_markdown(self.cells())
        lines = text.splitlines()
        header = next(line for line in lines if line.startswith("| tokenizer"))
        self.assertEqual(header, "| tokenizer | 64x4 (paper 200K) | 128x4 |")
        ascii_row = next(line for line in lines if line.startswith("| ASCII"))
        self.assertIn("32.3 (22.9)", ascii_row)
        bpe20k = next(line for line in lines if line.startswith("| BPE20K"))
        self.assertIn("27.0 (not all decoded)", bpe20k)
        self.assertLess(lines.index(ascii_row), lines.index(bpe20k))
        self.assertIn("| BPE1K | 328K, 966 |  |", text)

    def test_another_dataset_and_errors(self):
        data = results([row("t-ascii", "lm", 40.0, architecture=arch(64, 4), dataset="prose"),
                        row("gzip", "gzip", 45.0, dataset="enwiki")])
        self.assertEqual(table2.table2_cells(data, "prose")[("ASCII", (64, 4))]["raw_rate"], 40.0)
        with self.assertRaisesRegex(Exception, "no Transformer rows .* 'enwiki'"):
            table2.table2_cells(data, "enwiki")
        twice = results([row("a", "lm", 30.0, architecture=arch(64, 4)),
                         row("b", "lm", 31.0, architecture=arch(64, 4))])
        with self.assertRaisesRegex(Exception, "a and b are both the cell ASCII x 64x4"):
            table2.table2_cells(twice)

    def test_command_writes_the_file_and_exits_2_on_bad_input(self):
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "results.json").write_text(json.dumps(results([
                row("t-ascii", "lm", 32.3, architecture=arch(64, 4))])))
            done = subprocess.run([sys.executable, SCRIPT, folder], capture_output=True, text=True)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertIn("32.3 (22.9)", (Path(folder) / "table2.md").read_text())
            (Path(folder) / "results.json").write_text("{}")
            done = subprocess.run([sys.executable, SCRIPT, folder], capture_output=True, text=True)
            self.assertEqual(done.returncode, 2)
            self.assertIn("results.json", done.stderr)


if __name__ == "__main__":
    unittest.main()
