"""Every subcommand's --help renders: a stray ``%`` in a help text breaks argparse's page for the whole group."""

import argparse

from cli.main import build_parser


def _parsers(parser, path=()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, path + (name,))


def test_every_help_page_renders():
    pages = 0
    for path, parser in _parsers(build_parser()):
        text = parser.format_help()
        assert "usage: pishkhan" in text, path
        pages += 1
    assert pages > 40
