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
    "gcp:container/cluster:Cluster": [("location", "location"), ("channel", "releaseChannel.channel"),
                                      ("private nodes", "privateClusterConfig.enablePrivateNodes"),
                                      ("workload pool", "workloadIdentityConfig.workloadPool")],
    "gcp:container/nodePool:NodePool": [("machine", "nodeConfig.machineType"),
                                        ("gpu", "nodeConfig.guestAccelerators.0.type"),
                                        ("count", "nodeConfig.guestAccelerators.0.count"),
                                        ("spot", "nodeConfig.spot"),
                                        ("min", "autoscaling.totalMinNodeCount"),
                                        ("max", "autoscaling.totalMaxNodeCount"),
                                        ("tpu topology", "placementPolicy.tpuTopology"),
                                        ("zones", "nodeLocations")],
    "gcp:storage/bucket:Bucket": [("name", "name"), ("location", "location"),
                                  ("public access", "publicAccessPrevention"), ("versioning", "versioning.enabled")],
    "gcp:serviceaccount/iAMMember:IAMMember": [("role", "role"), ("member", "member")],
    "gcp:storage/bucketIAMMember:BucketIAMMember": [("role", "role")],
    "gcp:compute/subnetwork:Subnetwork": [("cidr", "ipCidrRange")],
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


def cost_table(cost: dict[str, Any], title: str = "Monthly cost") -> Table:
    table = Table(title=f"{title} ({cost['cloud']} {cost['region']}, prices as of {cost['prices_as_of']}, "
                  f"{cost['hours_per_month']} h/month)", title_justify="left")
    for col, justify in (("resource", "left"), ("sku", "left"), ("quantity floor/exp/max", "right"),
                         ("unit price", "right"), ("floor", "right"), ("expected", "right"), ("max", "right")):
        table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for line in cost["lines"]:
        q = line["quantity"]
        m = line["monthly"]
        table.add_row(escape(line["resource"]), escape(line["sku"]), f"{q['floor']}/{q['expected']}/{q['max']}",
                      f"${line['unit_price']:,.4f}/{line['unit']}", money(m["floor"]), money(m["expected"]),
                      money(m["max"]))
    total = cost["monthly"]
    table.add_section()
    table.add_row("[bold]total[/]", "", "", "", f"[bold]{money(total['floor'])}[/]",
                  f"[bold]{money(total['expected'])}[/]", f"[bold]{money(total['max'])}[/]")
    return table


def print_preview(console: Console, plan: Plan) -> None:
    console.print(plan_tree(plan))
    summary = ", ".join(f"{n} to {op}" for op, n in plan.change_summary().items())
    console.print(f"\nResources: {summary}")
    if plan.cost:
        console.print()
        console.print(cost_table(plan.cost))
