"""The docs show the same examples as the CLI: every example line that ends a verb's --help appears, as written,
in a bash block of README.md or of a docs/ page (docs/commands.md lists them all, verb by verb)."""

from __future__ import annotations

from example_lines import DOC_PAGES, commands, doc_examples, help_examples


def test_every_help_example_is_in_the_docs():
    shown = {line for page in DOC_PAGES for line in doc_examples(page)}
    helped = [line for path in commands() for line in help_examples(path)]
    assert len(helped) >= len(commands())
    assert [line for line in helped if line not in shown] == []
