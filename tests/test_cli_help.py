"""Every option and argument of the four command-line tools says what it is for in --help."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from cloud.cli import build_parser as cloud_parser
from edge.cli import build_parser as edge_parser
from hardware.cli import build_parser as hardware_parser
from provisioning.cli import build_parser as provision_parser

PARSERS = {"novapos-edge": edge_parser, "novapos-cloud": cloud_parser, "novapos-hardware": hardware_parser,
           "novapos-provision": provision_parser}


def undocumented(parser: argparse.ArgumentParser, path: str) -> Iterator[str]:
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            helped = {choice.dest for choice in action._choices_actions if choice.help}
            for name, sub in action.choices.items():
                if name not in helped:
                    yield f"{path} {name}"
                yield from undocumented(sub, f"{path} {name}")
            continue
        if not action.help or action.help == argparse.SUPPRESS:
            yield f"{path} {'/'.join(action.option_strings) or action.dest}"


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_every_option_has_help_text(name):
    assert list(undocumented(PARSERS[name](), name)) == []


def test_the_walk_finds_an_option_without_help():
    parser = argparse.ArgumentParser(prog="x")
    sub = parser.add_subparsers()
    serve = sub.add_parser("serve", help="run")
    serve.add_argument("--host")
    assert list(undocumented(parser, "x")) == ["x serve --host"]
