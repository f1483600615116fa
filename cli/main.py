"""The llmcloud command line (contract 2 in DESIGN.md).

This module imports typer and the standard library only; each command imports what it needs when
it runs, so `llmcloud --help` and `llmcloud validate` never load Pulumi or a cloud SDK.
Exit codes: 0 ok, 1 failed, 2 invalid stack or usage, 3 blocked by budget or policy,
4 missing prerequisite, 5 drift with --expect-no-changes.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum

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


class BudgetBand(StrEnum):
    expected = "expected"
    max = "max"


YesOption = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (CI).")
BudgetOption = typer.Option(None, "--budget", envvar="LLMCLOUD_BUDGET",
                            help="Monthly budget in USD; overrides the stack's budget [env LLMCLOUD_BUDGET].")
BudgetOnOption = typer.Option(BudgetBand.expected, "--budget-on", help="Cost band the budget applies to.")


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
    budget: float | None = BudgetOption,
    budget_on: BudgetBand = BudgetOnOption,
    expect_no_changes: bool = typer.Option(False, "--expect-no-changes", help="Exit 5 when the cloud or the "
                                           "program differs from the deployed state (drift check)."),
) -> None:
    """Plan the stack and price it: every resource with its settings, the monthly cost, the budget check."""
    from .preview import run

    run(stack, cloud, offline=offline, json_mode=json, budget=budget, budget_on=budget_on.value,
        expect_no_changes=expect_no_changes)


@app.command()
def up(
    stack: str = StackArgument,
    cloud: str | None = CloudOption,
    yes: bool = YesOption,
    json: bool = typer.Option(False, "--json", help="Engine events as JSON lines on stdout, then a summary."),
    budget: float | None = BudgetOption,
    budget_on: BudgetBand = BudgetOnOption,
    strict: bool = typer.Option(False, "--strict", help="Stop (exit 3) when the quota/zone preflight finds a "
                                "pool that cannot reach max_nodes; otherwise it only warns."),
) -> None:
    """Preview, show the cost, confirm, deploy (alias: deploy)."""
    from .deploy import up as run

    run(stack, cloud, yes=yes, json_mode=json, budget=budget, budget_on=budget_on.value, strict=strict)


@app.command("deploy", hidden=True)
def deploy(stack: str = StackArgument, cloud: str | None = CloudOption, yes: bool = YesOption,
           json: bool = typer.Option(False, "--json"), budget: float | None = BudgetOption,
           budget_on: BudgetBand = BudgetOnOption, strict: bool = typer.Option(False, "--strict")) -> None:
    """Alias of up."""
    up(stack, cloud, yes, json, budget, budget_on, strict)


@app.command()
def destroy(
    stack: str = StackArgument,
    cloud: str | None = CloudOption,
    yes: bool = YesOption,
    delete_data: bool = typer.Option(False, "--delete-data", help="Also delete the buckets and the weights in "
                                     "them (asks for the stack name unless --yes)."),
    json: bool = typer.Option(False, "--json", help="Engine events as JSON lines on stdout, then a summary."),
) -> None:
    """Tear the stack down, keeping data (weights buckets) unless --delete-data (alias: down)."""
    from .deploy import destroy as run

    run(stack, cloud, yes=yes, delete_data=delete_data, json_mode=json)


@app.command("down", hidden=True)
def down(stack: str = StackArgument, cloud: str | None = CloudOption, yes: bool = YesOption,
         delete_data: bool = typer.Option(False, "--delete-data"), json: bool = typer.Option(False, "--json")) -> None:
    """Alias of destroy."""
    destroy(stack, cloud, yes, delete_data, json)


@app.command()
def refresh(stack: str = StackArgument, cloud: str | None = CloudOption, json: bool = JsonOption) -> None:
    """Reconcile the state with the cloud (after an interrupted update)."""
    from .deploy import refresh as run

    run(stack, cloud, json_mode=json)


@app.command()
def cancel(stack: str = StackArgument, cloud: str | None = CloudOption, yes: bool = YesOption) -> None:
    """Cancel a running update and release the stack's lock."""
    from .deploy import cancel as run

    run(stack, cloud, yes=yes)


@app.command()
def outputs(
    stack: str = StackArgument,
    cloud: str | None = CloudOption,
    json: bool = JsonOption,
    show_secrets: bool = typer.Option(False, "--show-secrets", help="Show secret outputs (API keys, kubeconfig)."),
) -> None:
    """The outputs of a deployed stack: endpoint, buckets, cluster."""
    from .deploy import outputs as run

    run(stack, cloud, json_mode=json, show_secrets=show_secrets)


@app.command()
def cost(
    stack: str = StackArgument,
    cloud: str | None = CloudOption,
    json: bool = JsonOption,
    markdown: bool = typer.Option(False, "--markdown", help="A Markdown table (for CI job summaries)."),
    compare: bool = typer.Option(False, "--compare", help="Price the same stack on GCP, AWS and Azure side by side."),
    diff: str | None = typer.Option(None, "--diff", metavar="OTHER", help="Compare with another environment "
                                    "(e.g. prod), or with `deployed`: the cost recorded by the last `up`."),
) -> None:
    """Monthly cost bands (floor / expected / max) of a stack, priced from the offline plan."""
    from .cost import run

    if compare and diff:
        from .common import INVALID, fail

        fail(INVALID, "--compare and --diff cannot be combined")
    run(stack, cloud, json_mode=json, markdown=markdown, compare=compare, diff=diff)


@app.command()
def render(
    stack: str = StackArgument,
    cloud: str | None = CloudOption,
    out_dir: str | None = typer.Option(None, "--output-dir", "-o", help="Write one <kind>-<name>.yaml per "
                                       "object here instead of one multi-document YAML on stdout."),
) -> None:
    """The Kubernetes manifests of the serving layer as YAML (from the offline plan)."""
    from .manifests import run

    run(stack, cloud, out_dir)


# Operations: cli/ops.py
BackendOption = typer.Option(None, "--backend", envvar="LLMCLOUD_BACKEND", help="Pulumi state backend URL "
                             "(file://, gs://, s3://, azblob://); default ~/.llmcloud/state [env LLMCLOUD_BACKEND].")


@app.command()
def preflight(
    stack: str = StackArgument,
    cloud: str | None = CloudOption,
    strict: bool = typer.Option(False, "--strict", help="Exit 3 when a pool is blocked by quota or zones."),
    json: bool = JsonOption,
) -> None:
    """Quota and zone checks for every accelerator pool (what would stop the deploy), from the cloud's APIs."""
    from .ops import preflight as run

    run(stack, cloud, strict=strict, json_mode=json)


@app.command()
def leftovers(
    stack: str = StackArgument,
    cloud: str | None = CloudOption,
    json: bool = JsonOption,
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when billable resources remain."),
) -> None:
    """Resources still labelled with the stack in the cloud (after destroy), with their monthly cost."""
    from .ops import leftovers as run

    run(stack, cloud, json_mode=json, strict=strict)


@app.command()
def status(backend: str | None = BackendOption, json: bool = JsonOption) -> None:
    """The stacks of a backend: cloud, environment, owner, age, expiry and expected monthly cost."""
    from .ops import status as run

    run(backend, json_mode=json)


@app.command()
def reap(backend: str | None = BackendOption, yes: bool = YesOption, json: bool = JsonOption) -> None:
    """Destroy the stacks whose ttl/expires_at has passed, keeping their data (run on a schedule by CI)."""
    from .ops import reap as run

    run(backend, yes=yes, json_mode=json)


ci_app = typer.Typer(help="CI pipelines: preview with cost on pull requests, deploy on merge.", no_args_is_help=True)
app.add_typer(ci_app, name="ci")


@ci_app.command("init")
def ci_init(
    github: bool = typer.Option(False, "--github", help="Write .github/workflows/llmcloud.yml (the default)."),
    gitlab: bool = typer.Option(False, "--gitlab", help="Write .gitlab-ci.yml."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing pipeline files."),
) -> None:
    """Write a CI pipeline for every stack in stacks/ (OIDC auth, cost in the summary, budget gate)."""
    from pathlib import Path

    from .ci import run

    run(github_flag=github, gitlab_flag=gitlab, root=Path.cwd(), force=force)


from .weights import app as weights_app  # noqa: E402  (cli/weights.py: llmcloud weights sync)

app.add_typer(weights_app, name="weights")

prices_app = typer.Typer(help="The price catalog: refresh it from the clouds' public pricing APIs.",
                         no_args_is_help=True)
app.add_typer(prices_app, name="prices")


@prices_app.command("refresh")
def prices_refresh(
    cloud: list[str] | None = typer.Option(None, "--cloud", "-c", metavar="CLOUD",
                                           help="Cloud to refresh: aws, azure or gcp; repeat for several "
                                                "(default: all three). GCP needs GOOGLE_API_KEY."),
    out: str | None = typer.Option(None, "--out", metavar="DIR",
                                   help="Directory for the refreshed <cloud>.yaml files "
                                        "(default ~/.llmcloud/catalog); use it with LLMCLOUD_CATALOG_DIR."),
    json: bool = JsonOption,
) -> None:
    """Re-read list prices for the catalog's machines and regions; never changes the shipped catalog."""
    from .prices import run_refresh

    run_refresh(cloud, out, json_mode=json)


@app.command()
def size(
    model: str = typer.Argument(..., help="Hugging Face id (meta-llama/Llama-3.1-8B-Instruct) or a config.json path."),
    quantization: str | None = typer.Option(None, "--quantization", "-q", help="fp8, awq, gptq, int8, int4, ..."),
    max_model_len: int | None = typer.Option(None, "--max-model-len", help="Context served; default the model's."),
    concurrency: int = typer.Option(1, "--concurrency", help="Sequences whose KV cache must fit at once."),
    spot: bool = typer.Option(False, "--spot", help="Spot prices (machines sold as spot only)."),
    cloud: list[str] = typer.Option(["gcp", "aws", "azure"], "--cloud", "-c", help="Clouds to rank (repeat)."),
    region: list[str] = typer.Option([], "--region", help="CLOUD=REGION, e.g. aws=us-west-2 (repeat)."),
    top: int = typer.Option(5, "--top", help="Options shown per cloud."),
    json: bool = JsonOption,
) -> None:
    """Which accelerators fit a model, cheapest first across clouds (the sizing behind accelerator: auto)."""
    from .size import run

    regions = dict(r.split("=", 1) for r in region if "=" in r)
    run(model, quantization=quantization, max_model_len=max_model_len, concurrency=concurrency, spot=spot,
        clouds=cloud, regions=regions, top=top, json_mode=json)


policy_app = typer.Typer(help="Security and safety rules checked by preview and up.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")


@policy_app.command("list")
def policy_list(json: bool = JsonOption) -> None:
    """The rules: id, severity, what they check and how to fix a violation."""
    from .policy import list_rules

    list_rules(json_mode=json)


@app.command("_price-on", hidden=True)
def price_on(stack: str, cloud: str) -> None:
    """Worker of `cost --compare`: the stack priced on one cloud, as JSON."""
    import json as _json

    from llmcloud.components.cost.compare import price_on as run

    sys.stdout.write(_json.dumps(run(stack, cloud)) + "\n")


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
    code: int = 0
    try:
        app()
    except SystemExit as exc:
        if isinstance(exc.code, str):
            sys.stderr.write(exc.code + "\n")
            code = 1
        else:
            code = exc.code or 0
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        code = 130
    sys.stdout.flush()
    sys.stderr.flush()
    if "pulumi" in sys.modules:
        # Tearing down the interpreter after the provider SDKs loaded (hundreds of thousands of objects,
        # the Pulumi runtime's thread pools) takes about a second and does nothing useful: all output is
        # flushed and every file is closed, so leave now.
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    main()
