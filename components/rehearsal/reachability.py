"""Reachability: the API server can call the webhooks and aggregated APIs of the charts llmcloud installs.

Which control-plane -> node ports are open is a cloud fact read from the plan (a firewall rule, a security
group, a tunnel the cloud runs); the ports each chart serves on are chart facts (pods.CHARTS).
"""

from __future__ import annotations

from . import GATE, Context, Finding
from .pods import helm_releases


def check(ctx: Context) -> list[Finding]:
    open_ports, how = ctx.facts.control_plane_ports(ctx.plan, ctx.resolved)
    if open_ports is None:  # every port: the cloud tunnels the control plane's calls to the nodes
        return []
    findings = []
    for step, name, chart in helm_releases(ctx.plan):
        if chart is None:
            continue
        for endpoint in chart.endpoints:
            if endpoint.port not in open_ports:
                findings.append(
                    Finding(
                        "reachability",
                        GATE,
                        f"helm {step.inputs.get('name') or name}: {endpoint.name}",
                        f"the control plane cannot reach the {endpoint.kind} on tcp:{endpoint.port} "
                        f"(open: {', '.join(map(str, sorted(open_ports))) or 'none'}; {how}): {endpoint.failure}",
                        f"allow tcp:{endpoint.port} from the control plane to the nodes",
                    )
                )
    return findings
