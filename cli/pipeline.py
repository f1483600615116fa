"""The pipeline every command that plans shares: load -> resolve -> plan -> cost -> policy -> gates.

`preview`, `up`, `cost` and the operations commands call these steps; none of them imports another
command module, so the CLI has no import cycle (tests/unit/cli/test_cli_imports.py). Heavy imports
(the engines, pulumi) happen inside the steps that need them, so `llmcloud --help` stays fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .common import MISSING, PULUMI_INSTALL, fail, load, notice, pulumi_cli, require_sdk, stderr

if TYPE_CHECKING:
    from llmcloud.components.engine.plan import Plan
    from llmcloud.components.resolve import ResolvedStack

MakeEngine = Callable[..., Any]  # (on_event=None, resolved=None) -> RealEngine


# ---- load + resolve, and what the real engine needs


def resolved(stack: str, cloud: str | None) -> ResolvedStack:
    """Load and resolve the stack (exit 2 on a bad stack), with the target cloud's SDK installed (exit 4)."""
    _, r = load(stack, cloud)
    require_sdk(r.cloud)
    return r  # type: ignore[no-any-return]


def engine_essentials(action: str) -> tuple[str, dict[str, str]]:
    """The pulumi CLI and the state passphrase, or exit 4 saying how to get them."""
    from llmcloud.components.engine import credentials

    exe = pulumi_cli()
    if exe is None:
        fail(MISSING, f"the pulumi CLI is needed to {action} and was not found: {PULUMI_INSTALL}")
    passphrase = credentials.passphrase_env()
    if passphrase is None:
        fail(MISSING, credentials.PASSPHRASE_HELP)
    return exe, passphrase  # type: ignore[return-value]


def prerequisites(stack: str, cloud: str | None, *, action: str) -> tuple[ResolvedStack, MakeEngine]:
    """Everything the real engine needs, checked before anything runs (exit 2 or 4)."""
    from llmcloud.components.engine import credentials

    r = resolved(stack, cloud)
    exe, passphrase = engine_essentials(action)
    if not credentials.has_credentials(r.cloud):
        fail(MISSING, f"no {r.cloud} credentials found; expected {credentials.expected(r.cloud)}")
    if action not in ("read outputs", "cancel"):
        require_cloud_tools(r, deploy=action == "deploy")
    from llmcloud.components.engine.real import RealEngine, settings_for

    # `resolved` overrides the stack as deployed (up stamps the ttl deadline and cost: components/ttl.py).
    return r, lambda on_event=None, resolved=None: RealEngine(
        resolved or r, settings_for(resolved or r, exe, passphrase), on_event=on_event
    )


def require_cloud_tools(r: ResolvedStack, *, deploy: bool) -> None:
    """Programs the cloud's providers run (gcp: gke-gcloud-auth-plugin; exit 4) and, for `up`, what would
    leave the deployed stack unreachable (exit 2): both asked of the Cloud object."""
    from llmcloud.components import registry

    door = registry.cloud(r.cloud)
    missing = door.missing_tools()
    if missing:
        fail(MISSING, "; ".join(missing))
    blockers = door.deploy_blockers(r) if deploy else []
    if blockers:
        from .common import INVALID

        fail(INVALID, "; ".join(blockers))


def engine_call(fn: Callable[[], Any]) -> Any:
    """Run an engine operation; its EngineError is one line and exit 5."""
    from llmcloud.components.engine.real import EngineError

    from .common import FAILED

    try:
        return fn()
    except EngineError as exc:
        fail(FAILED, str(exc))


def reporter(json_mode: bool, title: str) -> Any:
    from .progress import JsonLines, Progress

    return JsonLines() if json_mode else Progress(stderr(), title)


# ---- plan


def plan_offline(r: ResolvedStack, *, quiet: bool = True) -> Plan:
    """The offline plan (mock runtime), priced and checked."""
    from llmcloud.components.engine import offline

    if quiet:
        plan = offline.run(r)
    else:
        with stderr().status(f"planning {r.stack_name} offline ..."):
            plan = offline.run(r)
    return assess(plan, r)


def real_preview(r: ResolvedStack, make_engine: MakeEngine, *, json_mode: bool, expect_no_changes: bool) -> Plan:
    """A preview by the real engine, as a Plan; progress on stderr for people, nothing extra for --json
    (stdout then holds the plan JSON alone)."""
    if json_mode:
        return engine_call(lambda: make_engine(None).preview(expect_no_changes=expect_no_changes))  # type: ignore[no-any-return]
    with reporter(False, f"previewing {r.stack_name}") as progress:
        return engine_call(lambda: make_engine(progress).preview(expect_no_changes=expect_no_changes))  # type: ignore[no-any-return]


def plan(
    stack: str, cloud: str | None, *, offline: bool, json_mode: bool, expect_no_changes: bool = False
) -> tuple[ResolvedStack, Plan, MakeEngine | None]:
    """load -> resolve -> plan -> cost -> policy: the real engine's preview when the pulumi CLI exists and
    `offline` is not asked for, else the offline plan. Returns the engine factory when the real one ran."""
    if not offline and pulumi_cli() is not None:
        r, make_engine = prerequisites(stack, cloud, action="preview")
        return (
            r,
            assess(real_preview(r, make_engine, json_mode=json_mode, expect_no_changes=expect_no_changes), r),
            make_engine,
        )
    r = resolved(stack, cloud)
    if expect_no_changes:
        fail(
            MISSING,
            "--expect-no-changes compares with the deployed state and needs the pulumi CLI, which was not found",
        )
    if not offline:
        notice("the pulumi CLI is not installed: showing the offline plan (mock runtime, no cloud calls)")
    return r, plan_offline(r, quiet=json_mode), None


# ---- cost + policy


def assess(plan: Plan, r: ResolvedStack) -> Plan:
    """Price the plan and check it against the policy rules (both engines' plans alike)."""
    from llmcloud.components.cost import cost_for
    from llmcloud.components.policy import evaluate

    plan.cost = cost_for(plan, r)
    plan.policy = evaluate(plan, r)
    return plan


# ---- gates


def budget_reason(plan: Plan, r: ResolvedStack, budget: float | None, band: str) -> str | None:
    """Record the budget check in the plan's cost; a reason to stop (exit 3) when the band is over it."""
    from llmcloud.components.cost import over_budget

    limit = budget if budget is not None else r.budget_monthly_usd
    reason = over_budget(plan.cost, limit, band)
    plan.cost["budget"] = {"monthly_usd": limit, "band": band, "over": reason is not None}
    return reason


def policy_gate(plan: Plan) -> str | None:
    """Warn about advisory findings; a reason to stop (exit 3) when a mandatory rule is violated."""
    violations = plan.policy.get("violations", [])
    colored = sys.stderr.isatty() and not os.environ.get("NO_COLOR")
    err = stderr() if violations and colored else None  # rich only where colour shows (its import: ~40 ms)
    for v in violations:
        line = f"{v['rule']} {v['resource']}: {v['message']}; fix: {v['fix']}"
        if err is None:
            sys.stderr.write(f"{v['severity']} {line}\n")
        else:
            color = "red" if v["severity"] == "mandatory" else "yellow"
            err.print(f"[{color}]{v['severity']}[/] ", end="", markup=True, highlight=False)
            err.print(line, markup=False, highlight=False)  # the message is text, never markup
    n = plan.policy.get("mandatory", 0)
    return f"{n} mandatory policy violation{'s' if n != 1 else ''}" if n else None
