"""cli.main.app_for: a run builds only the sub-command it names, and says exactly what the whole app says."""

from __future__ import annotations

import pytest
from llmcloud.cli import main
from typer.testing import CliRunner

ARGS = [
    ["preview", "--help"],
    ["preview"],  # a missing argument: usage error, exit 2
    ["preview", "dev", "--bogus"],
    ["validate", "stacks/dev.yaml"],
    ["validate", "no-such-stack"],
    ["deploy", "--help"],  # an alias
    ["ci", "--help"],
    ["ci", "init", "--help"],
    ["policy", "list", "--json"],
    ["previe", "dev"],  # no such command: the whole app answers, with click's suggestion
    ["--help"],
    [],
    ["version"],
]


@pytest.mark.parametrize("args", ARGS, ids=lambda a: " ".join(a) or "(none)")
def test_one_sub_command_answers_as_the_whole_app(args):
    runner = CliRunner()
    whole = runner.invoke(main.app, args, prog_name="llmcloud")
    single = runner.invoke(main.app_for(args), args, prog_name="llmcloud")
    assert (single.exit_code, single.output) == (whole.exit_code, whole.output)
    assert whole.output.strip()  # each case says something, so the comparison means something


def test_only_the_named_sub_command_is_registered():
    assert [c.callback.__name__ for c in main.app_for(["preview", "dev"]).registered_commands] == ["preview"]
    assert [g.name for g in main.app_for(["ci", "init"]).registered_groups] == ["ci"]
    assert main.app_for(["previe"]) is main.app and main.app_for(["--json"]) is main.app
    assert len(main.app.registered_commands) > 10  # the whole app is untouched
