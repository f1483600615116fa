"""The llmcloud command line (contract 2 in DESIGN.md).

This module imports typer, the standard library and the cloud registry (standard library only); each
command imports what it needs when it runs (the shared steps are in cli/pipeline.py), so `llmcloud --help`
and `llmcloud validate` never load Pulumi or a cloud SDK.
Exit codes: 0 ok, 1 failed, 2 invalid stack or usage, 3 blocked by budget or policy,
4 missing prerequisite, 5 drift with --expect-no-changes.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum

# llmcloud's schema models are its own: pydantic's plugin discovery (an entry-point scan of every installed
# distribution, ~25 ms a run) has nothing to find for them. A user's explicit setting wins.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import typer
from llmcloud.components.registry import CLOUDS

from .common import CloudOption, JsonOption, StackArgument, check_budget

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
BudgetOption = typer.Option(
    None,
    "--budget",
    envvar="LLMCLOUD_BUDGET",
    callback=check_budget,
    help="Monthly budget in USD; overrides the stack's budget [env LLMCLOUD_BUDGET].",
)
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
    offline: bool = typer.Option(
        False, "--offline", help="Plan with Pulumi's mock runtime: no CLI, no credentials, no network."
    ),
    json: bool = JsonOption,
    budget: float | None = BudgetOption,
    budget_on: BudgetBand = BudgetOnOption,
    expect_no_changes: bool = typer.Option(
        False,
        "--expect-no-changes",
        help="Exit 5 when the cloud or the program differs from the deployed state (drift check).",
    ),
) -> None:
    """Plan the stack and price it: every resource with its settings, the monthly cost, the budget check."""
    from .preview import run

    run(
        stack,
        cloud,
        offline=offline,
        json_mode=json,
        budget=budget,
        budget_on=budget_on.value,
        expect_no_changes=expect_no_changes,
    )


def up(
    stack: str = StackArgument,
    cloud: str | None = CloudOption,
    yes: bool = YesOption,
    json: bool = typer.Option(False, "--json", help="Engine events as JSON lines on stdout, then a summary."),
    budget: float | None = BudgetOption,
    budget_on: BudgetBand = BudgetOnOption,
    strict: bool = typer.Option(
        False,
        "--strict",
        help="Stop (exit 3) when the quota/zone preflight finds a "
        "pool that cannot reach max_nodes; otherwise it only warns.",
    ),
) -> None:
    """Preview, show the cost, confirm, deploy (alias: deploy)."""
    from .deploy import up as run

    run(stack, cloud, yes=yes, json_mode=json, budget=budget, budget_on=budget_on.value, strict=strict)


# The alias is the same function registered twice, so its options never drift from up's.
app.command()(up)
app.command("deploy", hidden=True, help="Alias of up.")(up)


def destroy(
    stack: str = StackArgument,
    cloud: str | None = CloudOption,
    yes: bool = YesOption,
    delete_data: bool = typer.Option(
        False,
        "--delete-data",
        help="Also delete the buckets and the weights in them (asks for the stack name unless --yes).",
    ),
    json: bool = typer.Option(False, "--json", help="Engine events as JSON lines on stdout, then a summary."),
) -> None:
    """Tear the stack down, keeping data (weights buckets) unless --delete-data (alias: down)."""
    from .deploy import destroy as run

    run(stack, cloud, yes=yes, delete_data=delete_data, json_mode=json)


app.command()(destroy)
app.command("down", hidden=True, help="Alias of destroy.")(destroy)


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
    diff: str | None = typer.Option(
        None,
        "--diff",
        metavar="OTHER",
        help="Compare with another environment (e.g. prod), or with `deployed`: the cost recorded by the last `up`.",
    ),
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
    out_dir: str | None = typer.Option(
        None,
        "--output-dir",
        "-o",
        help="Write one <kind>-<name>.yaml per object here instead of one multi-document YAML on stdout.",
    ),
) -> None:
    """The Kubernetes manifests of the serving layer as YAML (from the offline plan)."""
    from .manifests import run

    run(stack, cloud, out_dir)


# Operations: cli/ops.py
BackendOption = typer.Option(
    None,
    "--backend",
    envvar="LLMCLOUD_BACKEND",
    help="Pulumi state backend URL "
    "(file://, gs://, s3://, azblob://); default ~/.llmcloud/state [env LLMCLOUD_BACKEND].",
)


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
def reap(
    backend: str | None = BackendOption,
    yes: bool = YesOption,
    json: bool = JsonOption,
    cloud: str | None = typer.Option(
        None, "--cloud", "-c", metavar="CLOUD", help="Only this cloud's stacks (gcp, aws or azure)."
    ),
    markdown: bool = typer.Option(
        False, "--markdown", help="A Markdown list of what was reaped, on stdout (for a CI job summary)."
    ),
) -> None:
    """Destroy the stacks whose ttl/expires_at has passed, keeping their data (run on a schedule by CI)."""
    from .ops import reap as run

    if cloud is not None:
        from llmcloud.components.registry import CLOUDS

        from .common import INVALID, fail

        if cloud not in CLOUDS:
            fail(INVALID, f"unknown cloud {cloud!r}; allowed: {', '.join(CLOUDS)}")
    run(backend, yes=yes, json_mode=json, cloud=cloud, markdown=markdown)


ci_app = typer.Typer(help="CI pipelines: preview with cost on pull requests, deploy on merge.", no_args_is_help=True)
app.add_typer(ci_app, name="ci")


@ci_app.command("init")
def ci_init(
    github: bool = typer.Option(False, "--github", help="Write .github/workflows/llmcloud.yml (the default)."),
    gitlab: bool = typer.Option(False, "--gitlab", help="Write .gitlab-ci.yml."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing pipeline files."),
    stack: list[str] | None = typer.Option(
        None,
        "--stack",
        "-s",
        metavar="NAME",
        help="A stack to write jobs for (stacks/NAME.yaml); repeat for several. "
        "Default: every stack that is not a prod environment.",
    ),
) -> None:
    """Write a CI pipeline for the chosen stacks (OIDC per job, pinned actions, cost in the summary, gates)."""
    from pathlib import Path

    from .ci import run

    run(github_flag=github, gitlab_flag=gitlab, root=Path.cwd(), force=force, stack_names=stack)


app.add_typer(__import__("llmcloud.cli.gateway", fromlist=["app"]).app, name="gateway")  # gateway serve


weights_app = typer.Typer(help="Model weights: mirror Hub models into the stack's bucket.", no_args_is_help=True)
app.add_typer(weights_app, name="weights")


@weights_app.command("sync")
def weights_sync(
    stack: str = StackArgument,
    cloud: str | None = CloudOption,
    model: str | None = typer.Option(None, "--model", "-m", help="Only this model (a key of models:)."),
    hub: str | None = typer.Option(
        None,
        "--from",
        help="Hub repository, hf://org/model[@revision]; default the last two parts of the model's bucket path.",
    ),
    bucket: str | None = typer.Option(
        None,
        "--bucket-url",
        help="The bucket's URL (gs://, s3://, az://); default the stack's bucket by its planned name.",
    ),
    parallel: int = typer.Option(8, "--parallel", min=1, max=64, help="Files copied at once."),
    json: bool = JsonOption,
) -> None:
    """Copy a model's weights from the Hugging Face Hub into the stack's bucket (weights only, parallel,
    resumable, checksummed). HF_TOKEN for gated models; HF_ENDPOINT for a Hub mirror."""
    from .weights import sync

    sync(stack, cloud, model=model, hub=hub, bucket=bucket, parallel=parallel, json_mode=json)


prices_app = typer.Typer(
    help="The price catalog: refresh it from the clouds' public pricing APIs.", no_args_is_help=True
)
app.add_typer(prices_app, name="prices")


@prices_app.command("refresh")
def prices_refresh(
    cloud: list[str] | None = typer.Option(
        None,
        "--cloud",
        "-c",
        metavar="CLOUD",
        help="Cloud to refresh: aws, azure or gcp; repeat for several (default: all three). GCP needs GOOGLE_API_KEY.",
    ),
    out: str | None = typer.Option(
        None,
        "--out",
        metavar="DIR",
        help="Directory for the refreshed <cloud>.yaml files "
        "(default ~/.llmcloud/catalog); use it with LLMCLOUD_CATALOG_DIR.",
    ),
    json: bool = JsonOption,
) -> None:
    """Re-read list prices for the catalog's machines and regions; never changes the shipped catalog."""
    from .prices import run_refresh

    run_refresh(cloud, out, json_mode=json)


@app.command()
def size(
    model: str = typer.Argument(..., help="Hugging Face id (meta-llama/Llama-3.1-8B-Instruct) or a config.json path."),
    quantization: str | None = typer.Option(None, "--quantization", "-q", help="fp8_per_tensor, awq, gptq, ..."),
    max_model_len: int | None = typer.Option(None, "--max-model-len", help="Context served; default the model's."),
    concurrency: int = typer.Option(1, "--concurrency", help="Sequences whose KV cache must fit at once."),
    spot: bool = typer.Option(False, "--spot", help="Spot prices (machines sold as spot only)."),
    cloud: list[str] = typer.Option(list(CLOUDS), "--cloud", "-c", help="Clouds to rank (repeat)."),
    region: list[str] = typer.Option([], "--region", help="CLOUD=REGION, e.g. aws=us-west-2 (repeat)."),
    top: int = typer.Option(5, "--top", help="Options shown per cloud."),
    json: bool = JsonOption,
) -> None:
    """Which accelerators fit a model, cheapest first across clouds (the sizing behind accelerator: auto)."""
    from .size import run

    regions = dict(r.split("=", 1) for r in region if "=" in r)
    run(
        model,
        quantization=quantization,
        max_model_len=max_model_len,
        concurrency=concurrency,
        spot=spot,
        clouds=cloud,
        regions=regions,
        top=top,
        json_mode=json,
    )


@app.command()
def estimate(
    model: str = typer.Argument(..., help="Hugging Face id from the catalog, e.g. meta-llama/Llama-3.1-8B-Instruct."),
    accelerator: str = typer.Option(..., "--accelerator", "-a", help="L4, A100-80GB, H100, TPU-v6e, ..."),
    count: int = typer.Option(1, "--count", "-n", help="Accelerators per replica (tensor parallel)."),
    quantization: str | None = typer.Option(None, "--quantization", "-q", help="fp8_per_tensor, awq, gptq, ..."),
    input_tokens: int = typer.Option(..., "--input-tokens", help="Prompt tokens per request."),
    output_tokens: int = typer.Option(..., "--output-tokens", help="Generated tokens per request."),
    concurrency: int | None = typer.Option(None, "--concurrency", help="Requests in flight at once."),
    ttft_ms: float | None = typer.Option(None, "--ttft-ms", help="Target time to first token (p50), ms."),
    tpot_ms: float | None = typer.Option(None, "--tpot-ms", help="Target time per output token (p50), ms."),
    json: bool = JsonOption,
) -> None:
    """Throughput, latency, KV-cache concurrency and $/M tokens of one replica (an estimate, calibrated)."""
    from .estimate import run

    run(
        model,
        accelerator=accelerator,
        count=count,
        quantization=quantization,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        concurrency=concurrency,
        ttft_ms=ttft_ms,
        tpot_ms=tpot_ms,
        json_mode=json,
    )


@app.command()
def bench(
    stack: str = StackArgument,
    cloud: str | None = CloudOption,
    model: str | None = typer.Option(None, "--model", "-m", help="The model to load (default: the stack's only one)."),
    url: str | None = typer.Option(
        None, "--url", help="Any OpenAI-compatible base URL; default: the deployed stack's endpoint."
    ),
    api_key_env: str = typer.Option(
        "LLMCLOUD_API_KEY",
        "--api-key-env",
        metavar="VAR",
        help="Environment variable holding the API key (never the key itself).",
    ),
    concurrency: list[int] = typer.Option(
        [1, 8], "--concurrency", "-c", help="Requests in flight; repeat for a sweep."
    ),
    requests: int = typer.Option(100, "--requests", help="Requests per concurrency level."),
    duration: float | None = typer.Option(None, "--duration", help="Seconds per level instead of --requests."),
    input_tokens: int | None = typer.Option(None, "--input-tokens", help="Default: the model's workload, else 1000."),
    output_tokens: int | None = typer.Option(None, "--output-tokens", help="Default: the model's workload, else 200."),
    tokenizer: str | None = typer.Option(
        None,
        "--tokenizer",
        help="Hub id of the model's tokenizer (exact token "
        "counts; needs the Hub); default: a small shipped one (offline).",
    ),
    replicas: int = typer.Option(1, "--replicas", help="Replicas behind the endpoint, for $/M tokens."),
    timeout: float = typer.Option(1800, "--timeout", help="Seconds one level may take."),
    json: bool = JsonOption,
) -> None:
    """Load-test the deployed endpoint (or --url) with AIPerf: TTFT/TPOT/throughput percentiles and measured $/M."""
    from .bench import run

    run(
        stack,
        cloud,
        model=model,
        url=url,
        api_key_env=api_key_env,
        concurrency=concurrency,
        requests=requests,
        duration=duration,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        tokenizer=tokenizer,
        replicas=replicas,
        timeout=timeout,
        json_mode=json,
    )


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

    from llmcloud.components.spec.schema import file_schema

    sys.stdout.write(_json.dumps(file_schema(), indent=2) + "\n")


@app.command()
def version() -> None:
    """Print the llmcloud version."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as _version

    try:
        sys.stdout.write(_version("llmcloud") + "\n")
    except PackageNotFoundError:  # running from a source tree without installing
        sys.stdout.write("unknown\n")


def _group() -> None:
    """(the one sub-command's group: see app_for)"""


def app_for(args: list[str]) -> typer.Typer:
    """The app with only the sub-command `args` names: Typer builds a click command, with every parameter's
    type, for each registered command on every run (~20 ms), and a run uses one. Anything else (no command,
    an option first, a name that is no command, for which click suggests one) gets the whole app."""
    if not args or args[0].startswith("-"):
        return app
    from typer.main import get_command_name

    name = args[0]
    commands = [c for c in app.registered_commands if (c.name or get_command_name(c.callback.__name__)) == name]  # type: ignore[union-attr]
    groups = [g for g in app.registered_groups if g.name == name]
    if len(commands) + len(groups) != 1:
        return app
    import copy

    single = copy.copy(app)
    single.registered_commands, single.registered_groups = commands, groups
    # a callback keeps it a group, as the whole app is (Typer runs an app of one command as that command)
    single.registered_callback = None
    single.callback(help=app.info.help)(_group)
    return single


# Cyclic garbage collection: a command that plans allocates a few hundred thousand long-lived objects (SDK
# classes, typing objects, futures), and with the default thresholds (700, 10, 10) the collector walks them
# over and over on the way: about a tenth of an offline preview. A young generation of 100,000 objects still
# frees short-lived cycles; full collections become rare. (Not turned off: `up` and `gateway serve` run long.)
GC_THRESHOLDS = (100_000, 50, 1000)


def main() -> None:
    import gc

    from llmcloud.components import engine, kept_code

    kept_code.install()  # in place already when started through cli/entry.py
    gc.set_threshold(*GC_THRESHOLDS)
    engine.ONE_SHOT_PROCESS = True  # this process ends after its command
    code: int = 0
    if sys.stdout is None:  # started with stdout closed (`llmcloud ... >&-`)
        if sys.stderr is not None:
            sys.stderr.write("error: stdout is closed; nothing can be written\n")
        sys.exit(1)
    try:
        app_for(sys.argv[1:])()
    except SystemExit as exc:
        if isinstance(exc.code, str):
            sys.stderr.write(exc.code + "\n")
            code = 1
        else:
            code = exc.code or 0
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        code = 130
    except BrokenPipeError:  # stdout closed early (`| head`): nothing more can be said there
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        code = code or 1
    kept_code.save()
    if "pulumi" in sys.modules:
        # Tearing down the interpreter after the provider SDKs loaded (hundreds of thousands of objects,
        # the Pulumi runtime's thread pools) takes about a second and does nothing useful: all output is
        # flushed and every file is closed, so leave now.
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    main()
