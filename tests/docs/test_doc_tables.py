"""The documents' generated sections (scripts/doc_tables.py) match the committed results, and a
one-digit edit in any of them fails the check that CI runs, naming the section."""

import pathlib
import re
import subprocess
import sys
import tempfile
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "doc_tables.py"
sys.path.insert(0, str(SCRIPT.parent))
import doc_tables  # noqa: E402


def check(*files):
    return subprocess.run([sys.executable, str(SCRIPT), "--check", "--root", str(ROOT),
                           *map(str, files)], capture_output=True, text=True)


class DocTablesTest(unittest.TestCase):
    def test_committed_documents_match_results(self):
        done = check()
        self.assertEqual(done.returncode, 0, done.stderr)

    def test_every_document_has_generated_sections(self):
        for name in doc_tables.DOCUMENTS:
            text = (ROOT / name).read_text()
            self.assertTrue(doc_tables.MARKER.search(text), f"{name} quotes no results")

    def test_a_one_digit_edit_in_any_section_fails_the_check(self):
        with tempfile.TemporaryDirectory() as work:
            for name in doc_tables.DOCUMENTS:
                original = (ROOT / name).read_text()
                for match in doc_tables.MARKER.finditer(original):
                    section = match.group(1)
                    digit = re.search(r"\d", match.group(2))
                    self.assertIsNotNone(digit, f"{name}: section {section} has no number")
                    at = match.start(2) + digit.start()
                    changed = str((int(original[at]) + 1) % 10)
                    copy = pathlib.Path(work) / pathlib.Path(name).name
                    copy.write_text(original[:at] + changed + original[at + 1:])
                    done = check(copy)
                    self.assertEqual(done.returncode, 1, f"{name}: an edit in {section} passed")
                    self.assertIn(f"section '{section}' differs", done.stderr)

    def assert_rejected(self, text, message):
        with tempfile.TemporaryDirectory() as work:
            copy = pathlib.Path(work) / "README.md"
            copy.write_text(text)
            done = check(copy)
            self.assertNotEqual(done.returncode, 0)
            self.assertIn(message, done.stdout + done.stderr)

    def test_an_unclosed_marker_is_an_error(self):
        self.assert_rejected("intro\n<!-- generated: table2 -->\n| a |\n",
                             "has no '<!-- end generated -->'")

    def test_an_unknown_section_is_an_error(self):
        self.assert_rejected("<!-- generated: no-such-table -->x<!-- end generated -->\n",
                             "unknown generated section 'no-such-table'")

if __name__ == "__main__":
    unittest.main()
