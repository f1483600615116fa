"""The llmcloud command line (contract 2 in DESIGN.md).

This module imports typer and the standard library only; each command imports what it needs when
it runs, so `llmcloud --help` and `llmcloud validate` never load Pulumi or a cloud SDK.
Exit codes: 0 ok, 1 failed, 2 invalid stack or usage, 3 blocked by budget or policy,
4 missing prerequisite, 5 drift with --expect-no-changes.
"""

from __future__ import annotations

import os
import sys
from enum import Enum

import typer

from .common import CloudOption, JsonOption, StackArgument

app = typer.Typer(
    name="llmcloud",
    help="LLM serving platforms on GKE, EKS and AKS from one stack file per environment, "
         "with a cost preview before every deploy.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    # Locals can hold secrets: only with LLMCLOUD_DEBUG=1.
    pretty_exceptions_show_locals=os.environ.get("LLMCLOUD_DEBUG") == "1",
    pretty_exceptions_enable=os.environ.get("LLMCLOUD_DEBUG") == "1",
    context_settings={"help_option_names": ["-h", "--help"]},
)


class BudgetBand(str, Enum):
    expected = "expected"
    max = "max"


@app.command()
def validate(stack: str = StackArgument, cloud: str | None = CloudOption, json: bool = JsonOption) -> None:
    """Load, validate and resolve a stack file (no Pulumi, no cloud)."""
    from .validate import run

    run(stack, cloud, json)


@app.command()
def preview(
    stack: str = StackArgument,
    cloud: str | None = CloudOption,
    offline: bool = typer.Option(False, "--offline", help="Plan with Pulumi's mock runtime: no CLI, "
                                 "no credentials, no network."),
    json: bool = JsonOption,
    budget: float | None = typer.Option(None, "--budget", envvar="LLMCLOUD_BUDGET",
                                        help="Monthly budget in USD; overrides the stack's budget "
                                             "[env LLMCLOUD_BUDGET]."),
    budget_on: BudgetBand = typer.Option(BudgetBand.expected, "--budget-on", help="Cost band the budget "
                                         "applies to."),
) -> None:
    """Plan the stack and price it: every resource with its settings, the monthly cost, the budget check."""
    from .preview import run

    run(stack, cloud, offline=offline, json_mode=json, budget=budget, budget_on=budget_on.value)


@app.command()
def up(
    stack: str = StackArgument,
    cloud: str | None = CloudOption,
    yes: bool = typer.Option(False, "--yes", "-y", help="Deploy without asking (CI)."),
) -> None:
    """Preview, show the cost, confirm, deploy (alias: deploy)."""
    from .deploy import up as run

    run(stack, cloud, yes=yes)


@app.command("deploy", hidden=True)
def deploy(stack: str = StackArgument, cloud: str | None = CloudOption,
           yes: bool = typer.Option(False, "--yes", "-y")) -> None:
    """Alias of up."""
    up(stack, cloud, yes)


@app.command()
def destroy(
    stack: str = StackArgument,
    cloud: str | None = CloudOption,
    yes: bool = typer.Option(False, "--yes", "-y", help="Tear down without asking."),
    delete_data: bool = typer.Option(False, "--delete-data", help="Also delete protected buckets and their "
                                     "weights."),
) -> None:
    """Tear the stack down, keeping data (weights buckets) unless --delete-data (alias: down)."""
    from .deploy import destroy as run

    run(stack, cloud, yes=yes, delete_data=delete_data)


@app.command("down", hidden=True)
def down(stack: str = StackArgument, cloud: str | None = CloudOption,
         yes: bool = typer.Option(False, "--yes", "-y"),
         delete_data: bool = typer.Option(False, "--delete-data")) -> None:
    """Alias of destroy."""
    destroy(stack, cloud, yes, delete_data)


@app.command()
def cost(
    stack: str = StackArgument,
    cloud: str | None = CloudOption,
    json: bool = JsonOption,
) -> None:
    """Monthly cost bands (floor / expected / max) of a stack, priced from the offline plan."""
    from .cost import run

    run(stack, cloud, json_mode=json)


@app.command()
def schema() -> None:
    """Print the JSON Schema of stack files (for editor completion)."""
    import json as _json

    from llmcloud.components.spec.model import StackSpec

    sys.stdout.write(_json.dumps(StackSpec.model_json_schema(), indent=2) + "\n")


@app.command()
def version() -> None:
    """Print the llmcloud version."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as _version

    try:
        sys.stdout.write(_version("llmcloud") + "\n")
    except PackageNotFoundError:  # running from a source tree without installing
        sys.stdout.write("unknown\n")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)


if __name__ == "__main__":
    main()
