"""Ordering: what needs another resource's existence waits for it in the plan's dependency graph.

Neutral rules: a custom resource waits for whatever installs its CRD (a Helm release whose chart ships it,
or a CustomResourceDefinition in the plan) unless the cloud serves the API group itself; a KEDA trigger's
`authenticationRef` names a (Cluster)TriggerAuthentication the plan creates, and its ScaledObject waits for
it (`_keda_authentication`). Cloud rules
(identity pools that exist only once the cluster does, add-ons a node needs before it joins) and known
propagation delays come from the cloud's facts.
"""

from __future__ import annotations

from typing import Any

from . import ADVISORY, GATE, UNCHANGED, Context, Finding
from .pods import helm_releases

# API groups every Kubernetes API server serves (no CRD needed); "core" is the empty group.
BUILTIN_GROUPS = {
    "core",
    "apps",
    "batch",
    "policy",
    "autoscaling",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "apiextensions.k8s.io",
    "admissionregistration.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "node.k8s.io",
    "certificates.k8s.io",
    "events.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "resource.k8s.io",
    "apiregistration.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
}
# Pulumi's own pseudo-types in the kubernetes provider (not API objects).
_PSEUDO = ("helm.sh", "yaml", "kustomize")


def api_group(step_type: str) -> str | None:
    """ "kubernetes:keda.sh/v1alpha1:ScaledObject" -> "keda.sh"; None for non-Kubernetes types."""
    if not step_type.startswith("kubernetes:"):
        return None
    group = step_type.split(":", 2)[1].rsplit("/", 1)[0]
    return None if group.startswith(_PSEUDO) else group


def _crd_installers(ctx: Context) -> dict[str, list[Any]]:
    """API group -> the plan steps that create its CRDs."""
    installers: dict[str, list[Any]] = {}
    for step, _, chart in helm_releases(ctx.plan):
        if chart is None:
            continue
        values = step.inputs.get("values") or {}
        if (
            chart.crd_groups
            and "cert-manager" in (step.inputs.get("chart") or "")
            and not ((values.get("crds") or {}).get("enabled") or values.get("installCRDs"))
        ):
            continue  # cert-manager installs its CRDs only when asked to
        for group in chart.crd_groups:
            installers.setdefault(group, []).append(step)
    for step in ctx.plan.steps:
        if step.type == "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition":
            crd_group = (step.inputs.get("spec") or {}).get("group")
            if crd_group:
                installers.setdefault(str(crd_group), []).append(step)
    return installers


def check(ctx: Context) -> list[Finding]:
    plan = ctx.plan
    if not getattr(plan, "has_dependencies", True):
        return [
            Finding(
                "ordering",
                ADVISORY,
                "ordering",
                "not checked: the engine's events carry no dependency graph",
                "`llmcloud preview --offline` checks the same program's order",
            )
        ]
    findings = []
    installers = _crd_installers(ctx)
    served = set(ctx.facts.builtin_api_groups(plan, ctx.resolved))
    for step in plan.steps:
        group = api_group(step.type)
        if group is None or group in BUILTIN_GROUPS or not step.custom or step.op in UNCHANGED:
            continue
        kind = step.type.rsplit(":", 1)[-1]
        if group in served:
            continue
        sources = installers.get(group, [])
        if not sources:
            findings.append(
                Finding(
                    "ordering",
                    GATE,
                    f"{kind} {step.name}",
                    f"nothing in the plan installs the {group} CRDs and the cluster does not serve them",
                    f"install the controller that owns {group} in the same stack",
                )
            )
        elif not any(plan.depends_on(step, src.urn) for src in sources):
            findings.append(
                Finding(
                    "ordering",
                    GATE,
                    f"{kind} {step.name}",
                    f"does not wait for {sources[0].name}, which installs the {group} CRDs: the API "
                    "server refuses it (no matches for kind) when it is created first",
                    f"depends_on the {sources[0].name} release",
                )
            )
    for dependent, required, reason in ctx.facts.orderings(plan, ctx.resolved):
        if dependent.op not in UNCHANGED and not plan.depends_on(dependent, required.urn):
            findings.append(
                Finding(
                    "ordering",
                    GATE,
                    f"{dependent.type.rsplit(':', 1)[-1]} {dependent.name}",
                    f"does not wait for {required.name}: {reason}",
                    f"depends_on {required.name}",
                )
            )
    findings += _keda_authentication(plan)
    for dependent, required, reason in ctx.facts.propagation_delays(plan, ctx.resolved):
        sleeps = [s for s in plan.steps if s.type == "time:index/sleep:Sleep" and plan.depends_on(s, required.urn)]
        if dependent.op not in UNCHANGED and not any(plan.depends_on(dependent, s.urn) for s in sleeps):
            findings.append(
                Finding(
                    "ordering",
                    ADVISORY,
                    f"{dependent.type.rsplit(':', 1)[-1]} {dependent.name}",
                    f"is created right after {required.name} with no wait: {reason}",
                    "a time.Sleep after the grant (pulumi-time), or rely on the provider's retries",
                )
            )
    return findings


_KEDA = "kubernetes:keda.sh/v1alpha1:"
_SCALERS = (f"{_KEDA}ScaledObject", f"{_KEDA}ScaledJob")


def _keda_authentication(plan: Any) -> list[Finding]:
    """KEDA resolves a trigger's `authenticationRef` when it builds the scaler: a TriggerAuthentication in the
    ScaledObject's namespace, or with `kind: ClusterTriggerAuthentication` a cluster-wide one; an empty kind is
    the former (pkg/scaling/resolver/scale_resolvers.go, getTriggerAuthSpec). One that does not exist is no API
    error: the ScaledObject is accepted, never becomes ready and never scales, so the deploy "succeeds" with
    autoscaling dead (a gate: llmcloud wrote the reference). One created after the ScaledObject is only retried
    by KEDA until it exists (advisory)."""
    auths: dict[tuple[str, Any, Any], Any] = {}  # (kind, namespace or None, name) -> step
    for step in plan.steps:
        kind = step.type.removeprefix(_KEDA)
        if step.type.startswith(_KEDA) and kind in ("TriggerAuthentication", "ClusterTriggerAuthentication"):
            meta = step.inputs.get("metadata") or {}
            namespace = None if kind == "ClusterTriggerAuthentication" else meta.get("namespace")
            auths[(kind, namespace, meta.get("name"))] = step
    findings = []
    for step in plan.steps:
        if step.type not in _SCALERS or step.op in UNCHANGED:
            continue
        namespace = (step.inputs.get("metadata") or {}).get("namespace")
        refs: dict[tuple[str, Any, Any], list[str]] = {}
        for trigger in (step.inputs.get("spec") or {}).get("triggers") or []:
            ref = trigger.get("authenticationRef") if isinstance(trigger, dict) else None
            if not isinstance(ref, dict) or not isinstance(ref.get("name"), str):
                continue
            kind = ref.get("kind") or "TriggerAuthentication"
            key = (kind, None if kind == "ClusterTriggerAuthentication" else namespace, ref["name"])
            refs.setdefault(key, []).append(str(trigger.get("name") or trigger.get("type")))
        subject = f"{step.type.rsplit(':', 1)[-1]} {step.name}"
        for (kind, ns, name), triggers in refs.items():
            target = auths.get((kind, ns, name))
            where = f" in namespace {ns}" if ns else ""
            if target is None:
                findings.append(
                    Finding(
                        "ordering",
                        GATE,
                        subject,
                        f"triggers {', '.join(triggers)} name {kind} {name}, which the plan does not create{where}: "
                        "KEDA cannot read their metric, so the ScaledObject never becomes ready and never scales",
                        f"create {kind} {name}{where} in the same stack, or point authenticationRef at one it creates",
                    )
                )
            elif not plan.depends_on(step, target.urn):
                findings.append(
                    Finding(
                        "ordering",
                        ADVISORY,
                        subject,
                        f"does not wait for {target.name} ({kind} {name}), which its triggers name: KEDA retries "
                        "until it exists, and scaling starts late",
                        f"depends_on {target.name}",
                    )
                )
    return findings
