"""Rich rendering for people: the plan as a tree of components and resources, the cost table."""

from __future__ import annotations

from typing import Any

from llmcloud.components.engine.plan import Plan, Step
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

# The settings worth seeing per resource type, as (label, dotted input path).
KEY_SETTINGS: dict[str, list[tuple[str, str]]] = {
    "gcp:container/cluster:Cluster": [
        ("location", "location"),
        ("channel", "releaseChannel.channel"),
        ("private nodes", "privateClusterConfig.enablePrivateNodes"),
        ("workload pool", "workloadIdentityConfig.workloadPool"),
    ],
    "gcp:container/nodePool:NodePool": [
        ("machine", "nodeConfig.machineType"),
        ("gpu", "nodeConfig.guestAccelerators.0.type"),
        ("count", "nodeConfig.guestAccelerators.0.count"),
        ("spot", "nodeConfig.spot"),
        ("min", "autoscaling.totalMinNodeCount"),
        ("max", "autoscaling.totalMaxNodeCount"),
        ("tpu topology", "placementPolicy.tpuTopology"),
        ("zones", "nodeLocations"),
    ],
    "gcp:storage/bucket:Bucket": [
        ("name", "name"),
        ("location", "location"),
        ("public access", "publicAccessPrevention"),
        ("versioning", "versioning.enabled"),
    ],
    "gcp:serviceaccount/iAMMember:IAMMember": [("role", "role"), ("member", "member")],
    "gcp:storage/bucketIAMMember:BucketIAMMember": [("role", "role")],
    "gcp:compute/subnetwork:Subnetwork": [("cidr", "ipCidrRange")],
    "aws:eks/cluster:Cluster": [("version", "version"), ("public endpoint", "vpcConfig.endpointPublicAccess")],
    "aws:eks/nodeGroup:NodeGroup": [
        ("instance", "instanceTypes"),
        ("ami", "amiType"),
        ("capacity", "capacityType"),
        ("min", "scalingConfig.minSize"),
        ("max", "scalingConfig.maxSize"),
    ],
    "aws:s3/bucket:Bucket": [("name", "bucket")],
    "aws:lb/loadBalancer:LoadBalancer": [("type", "loadBalancerType"), ("idle timeout", "idleTimeout")],
    "azure-native:containerservice:ManagedCluster": [("version", "kubernetesVersion"), ("tier", "sku.tier")],
    "azure-native:containerservice:AgentPool": [
        ("vm", "vmSize"),
        ("priority", "scaleSetPriority"),
        ("min", "minCount"),
        ("max", "maxCount"),
        ("zones", "availabilityZones"),
    ],
    "azure-native:storage:StorageAccount": [
        ("name", "accountName"),
        ("sku", "sku.name"),
        ("public blob access", "allowBlobPublicAccess"),
    ],
    "kubernetes:core/v1:ServiceAccount": [("name", "metadata.name"), ("annotations", "metadata.annotations")],
    "kubernetes:core/v1:Namespace": [("name", "metadata.name")],
}


def lookup(inputs: dict[str, Any], dotted: str) -> Any:
    value: Any = inputs
    for part in dotted.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return None
    return value


def _fmt(value: Any) -> str:
    if isinstance(value, list):
        text = ",".join(map(str, value))
    elif isinstance(value, dict):
        text = ", ".join(f"{k}={v}" for k, v in value.items())
    else:
        text = str(value)
    return escape(text)


def describe(step: Step) -> str:
    settings = []
    for label, path in KEY_SETTINGS.get(step.type, []):
        value = lookup(step.inputs, path)
        if value not in (None, "", [], {}):
            settings.append(f"{label}={_fmt(value)}")
    flags = []
    if step.protect:
        flags.append("[bold yellow]protected[/]")
    if step.retain_on_delete:
        flags.append("[yellow]retained on delete[/]")
    text = f"[green]+[/] [bold]{escape(step.name)}[/] [dim]{step.type}[/]"
    if settings:
        text += "  " + "  ".join(settings)
    if flags:
        text += "  " + " ".join(flags)
    return text


def plan_tree(plan: Plan) -> Tree:
    root_step = next((s for s in plan.steps if s.type == "pulumi:pulumi:Stack"), None)
    tree = Tree(f"[bold]{plan.stack}[/] ({plan.cloud}, {plan.engine} engine)")
    nodes: dict[str, Tree] = {}
    if root_step:
        nodes[root_step.urn] = tree
    for step in plan.steps:
        if step is root_step:
            continue
        parent = nodes.get(step.parent, tree)
        label = describe(step) if step.custom else f"[cyan]{escape(step.name)}[/] [dim]{step.type}[/]"
        nodes[step.urn] = parent.add(label)
    return tree


def money(value: float) -> str:
    return f"${value:,.2f}"


def cost_table(cost: dict[str, Any], title: str = "Monthly cost", width: int | None = None) -> Table:
    if width is not None and width < 110:
        return _narrow_cost_table(cost, title)
    table = Table(
        title=f"{title} ({cost['cloud']} {cost['region']}, prices as of {cost['prices_as_of']}, "
        f"{cost['hours_per_month']} h/month)",
        title_justify="left",
    )
    for col, justify in (
        ("resource", "left"),
        ("sku", "left"),
        ("quantity floor/exp/max", "right"),
        ("unit price", "right"),
        ("floor", "right"),
        ("expected", "right"),
        ("max", "right"),
    ):
        table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for line in cost["lines"]:
        q = line["quantity"]
        m = line["monthly"]
        table.add_row(
            escape(line["resource"]),
            escape(line["sku"]),
            f"{q['floor']}/{q['expected']}/{q['max']}",
            f"${line['unit_price']:,.4f}/{line['unit']}",
            *_bands(m),
        )
    table.add_section()
    table.add_row("[bold]total[/]", "", "", "", *_bands(cost["monthly"], bold=True))
    return table


def _bands(monthly: dict[str, float], *, bold: bool = False) -> list[str]:
    """The floor / expected / max cells of a cost row."""
    cells = [money(monthly[band]) for band in ("floor", "expected", "max")]
    return [f"[bold]{c}[/]" for c in cells] if bold else cells


def _narrow_cost_table(cost: dict[str, Any], title: str) -> Table:
    """The cost table for 80 columns: resource, SKU and unit price stacked in one cell (wrapped at words),
    numbers never wrapped, no vertical rules."""
    from rich import box

    table = Table(
        title=f"{title} ({cost['cloud']} {cost['region']}, prices as of {cost['prices_as_of']}, "
        f"{cost['hours_per_month']} h/month)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
    )
    table.add_column("resource / sku / unit price", overflow="fold", ratio=1)
    table.add_column("quantity", justify="right", no_wrap=True)
    for col in ("floor", "expected", "max"):
        table.add_column(col, justify="right", no_wrap=True)
    for line in cost["lines"]:
        q, m = line["quantity"], line["monthly"]
        table.add_row(
            f"[bold]{escape(line['resource'])}[/]\n{escape(line['sku'])}\n"
            f"${line['unit_price']:,.4f}/{escape(line['unit'])}",
            f"{q['floor']}/{q['expected']}/{q['max']}",
            *_bands(m),
        )
    table.add_section()
    table.add_row("[bold]total[/]", "", *_bands(cost["monthly"], bold=True))
    return table


def print_preview(console: Console, plan: Plan) -> None:
    console.print(plan_tree(plan))
    summary = ", ".join(f"{n} to {op}" for op, n in plan.change_summary().items())
    console.print(f"\nResources: {summary}")
    if plan.cost:
        console.print()
        console.print(cost_table(plan.cost, width=console.width))
        if plan.cost.get("models"):
            console.print(token_table(plan.cost["models"]))


def token_table(models: list[dict[str, Any]]) -> Table:
    table = Table(
        title="Cost per million output tokens (estimate for each model's workload; `llmcloud estimate` "
        "explains, `llmcloud bench` measures)",
        title_justify="left",
    )
    for col, justify in (
        ("model", "left"),
        ("accelerator", "left"),
        ("in/out", "right"),
        ("in flight", "right"),
        ("tok/s", "right"),
        ("TPOT", "right"),
        ("$/1M out", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for m in models:
        tpot = f"{m['tpot_ms']:,.0f} ms" + ("" if m.get("meets_targets", True) else " (misses target)")
        table.add_row(
            escape(m["model"]),
            m["accelerator"],
            f"{m['input_tokens']}/{m['output_tokens']}",
            str(m["concurrency"]),
            f"~{m['tokens_per_second']:,.0f}",
            tpot,
            f"~${m['usd_per_million_output_tokens']:,.2f}",
        )
        measured = m.get("measured")
        if measured:  # the last `llmcloud bench`, beside the estimate
            price = measured.get("usd_per_million_output_tokens")
            tpot_m = measured.get("tpot_ms_p50")
            table.add_row(
                "  measured",
                "",
                "",
                str(measured["concurrency"]),
                f"{measured['tokens_per_second']:,.0f}",
                f"{tpot_m:,.0f} ms" if tpot_m is not None else "",
                f"${price:,.2f}" if price else "",
            )
    return table


def compare_table(results: list[dict[str, Any]]) -> Table:
    """Resources down, clouds across: the SKU chosen and its expected monthly cost on each."""
    priced = [r for r in results if r["cost"]]
    table = Table(title="The same stack on each cloud (monthly, list prices)", title_justify="left")
    table.add_column("resource")
    for r in priced:
        table.add_column(f"{r['cloud']} {r['cost']['region']}", overflow="fold")
    resources = sorted(
        {line["resource"] for r in priced for line in r["cost"]["lines"]},
        key=lambda x: (not x.startswith("node_pools"), x),
    )
    for resource in resources:
        cells = []
        for r in priced:
            lines = [ln for ln in r["cost"]["lines"] if ln["resource"] == resource]
            if not lines:
                cells.append("-")
                continue
            skus = ", ".join(dict.fromkeys(ln["sku"] for ln in lines))
            cells.append(f"{escape(skus)}  {money(sum(ln['monthly']['expected'] for ln in lines))}")
        table.add_row(escape(resource), *cells)
    table.add_section()
    for band in ("floor", "expected", "max"):
        table.add_row(f"[bold]total {band}[/]", *(f"[bold]{money(r['cost']['monthly'][band])}[/]" for r in priced))
    return table


def diff_table(
    rows: list[dict[str, Any]], names: tuple[str, str], base: dict[str, float], other: dict[str, float]
) -> Table:
    table = Table(title=f"{names[0]} → {names[1]} (monthly)", title_justify="left")
    for col, justify in (
        ("resource", "left"),
        (f"{names[0]} expected", "right"),
        (f"{names[1]} expected", "right"),
        ("Δ expected", "right"),
        ("Δ max", "right"),
    ):
        table.add_column(escape(col), justify=justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(
            escape(row["resource"]),
            money(row["base_expected"]),
            money(row["other_expected"]),
            _delta(row["delta_expected"]),
            _delta(row["delta_max"]),
        )
    table.add_section()
    table.add_row(
        "[bold]total[/]",
        money(base["expected"]),
        money(other["expected"]),
        _delta(other["expected"] - base["expected"]),
        _delta(other["max"] - base["max"]),
    )
    return table


def _delta(value: float) -> str:
    if abs(value) < 0.005:
        return "[dim]$0.00[/]"
    color = "red" if value > 0 else "green"
    return f"[{color}]{'+' if value > 0 else '-'}{money(abs(value))}[/]"
