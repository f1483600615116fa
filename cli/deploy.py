"""llmcloud up / destroy / refresh / cancel / outputs: the real engine (Automation API + pulumi CLI)."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer

from .common import BLOCKED, INVALID, MISSING, emit_json, fail, notice, stderr, stdout
from .pipeline import assess, budget_reason, engine_call, policy_gate, prerequisites, real_preview, reporter


def _interactive() -> bool:
    return sys.stdin.isatty()


def _need_terminal(yes: bool, what: str) -> None:
    """Refuse before the engine runs (it would create the stack record first) when no one can confirm."""
    if not yes and not _interactive():
        fail(INVALID, f"refusing to {what} without confirmation: no terminal to ask; pass --yes")


def _confirm(question: str, *, yes: bool, what: str) -> None:
    if yes:
        return
    _need_terminal(yes, what)
    if not typer.confirm(question, default=False, err=True):
        stderr().print("cancelled; nothing changed")
        raise typer.Exit(0)


def up(
    stack: str,
    cloud: str | None,
    *,
    yes: bool,
    json_mode: bool = False,
    budget: float | None = None,
    budget_on: str = "expected",
    strict: bool = False,
) -> None:
    from .render import cost_table

    r, make_engine = prerequisites(stack, cloud, action="deploy")
    _need_terminal(yes, "deploy")  # issue 21: nothing written before a refusal
    from llmcloud.components.k8s.serving import missing_secrets

    missing = missing_secrets(r)
    if missing:
        fail(MISSING, f"environment variable(s) {', '.join(missing)} named by hf_token_env are not set")
    from .weights import weights_gate  # models that must start have readable weights (exit 4)

    weights_gate(r)
    # Expiry (components/ttl.py): a ttl's deadline counts from this up; the preview and the deploy share it
    import functools

    from llmcloud.components.ttl import stamp

    r = stamp(r)
    make_engine = functools.partial(make_engine, resolved=r)
    plan = assess(real_preview(r, make_engine, json_mode=json_mode, expect_no_changes=False), r)
    reason = budget_reason(plan, r, budget, budget_on)
    changes = {op: n for op, n in plan.change_summary().items() if op != "same"}
    if not json_mode:
        err = stderr()
        err.print(cost_table(plan.cost, title=f"Monthly cost of {r.stack_name}"))
        err.print("Changes: " + (", ".join(f"{n} to {op}" for op, n in changes.items()) or "none"))
    if reason:
        fail(BLOCKED, f"{reason}: nothing deployed")
    blocked = policy_gate(plan)
    if blocked:
        fail(BLOCKED, f"{blocked}: nothing deployed (see `llmcloud policy list`)")
    from . import rehearse  # ordering, scheduling, reachability, prerequisites, dated versions

    found = rehearse.findings(r, plan)
    rehearse.show(found)
    rehearse.gate(found, what="nothing deployed")
    # Preflight (cli/ops.py): quota and zones of every accelerator pool; --strict stops here (exit 3)
    from .ops import preflight_gate

    preflight_gate(r, strict=strict, json_mode=json_mode)
    r = stamp(r, monthly_cost_expected=(plan.cost.get("monthly") or {}).get("expected"))
    make_engine = functools.partial(make_engine, resolved=r)  # the expected cost becomes a stack output
    _confirm(f"Deploy {r.stack_name} ({r.cloud} {r.region})?", yes=yes, what="deploy")
    with reporter(json_mode, f"deploying {r.stack_name}") as progress:
        result = engine_call(lambda: make_engine(progress).up())
    from .cost import record

    record(r.stack_name, plan.cost)  # for `llmcloud cost STACK --diff deployed`
    # Models are not awaited (skipAwait): say what each is doing, read from the cluster (cli/rollout.py)
    from .rollout import report

    rollouts = report(r, result["outputs"], lambda: make_engine(None).outputs(show_secrets=True))
    if json_mode:
        emit_json(
            {
                "stack": r.stack_name,
                "summary": result["summary"],
                "outputs": result["outputs"],
                "cost": plan.cost["monthly"],
                "models": [m.to_json() for m in rollouts],
            }
        )
    else:
        out = stdout()
        for key, value in result["outputs"].items():
            if key != "kubeconfig":
                out.print(f"{key}: {value}")
        for m in rollouts:
            out.print(m.line(), markup=False)


def destroy(stack: str, cloud: str | None, *, yes: bool, delete_data: bool, json_mode: bool = False) -> None:
    r, make_engine = prerequisites(stack, cloud, action="destroy")
    if not delete_data:
        _need_terminal(yes, "destroy")  # issue 21: nothing written before a refusal
    engine = make_engine(None)
    from llmcloud.components.engine.real import DATA_TYPES

    state = engine_call(engine.state_resources)
    data = [res for res in state if res.get("type") in DATA_TYPES]
    names = [d["urn"].rsplit("::", 1)[-1] for d in data]
    err = stderr()
    if delete_data:
        if names:
            err.print(
                f"[bold red]--delete-data[/]: these buckets and the weights in them will be deleted: {', '.join(names)}"
            )
        if not yes:
            if not _interactive():
                fail(INVALID, "--delete-data needs --yes or typing the stack name at a terminal")
            typed = typer.prompt(f"Type the stack name ({r.stack_name}) to delete it and its data", err=True)
            if typed.strip() != r.stack_name:
                fail(INVALID, "the name does not match; nothing changed")
    else:
        if names:
            err.print(f"keeping data (use --delete-data to remove): {', '.join(names)}")
        _confirm(f"Destroy {r.stack_name} ({r.cloud} {r.region}), keeping its buckets?", yes=yes, what="destroy")
    with reporter(json_mode, f"destroying {r.stack_name}") as progress:
        result = engine_call(lambda: make_engine(progress).destroy(delete_data=delete_data, resources=state))
    kept = [u.rsplit("::", 1)[-1] for u in result["kept"]]
    # Leftovers (cli/ops.py): what still carries the stack's label in the cloud, with its monthly cost
    from .ops import leftovers_report, print_leftovers

    left = leftovers_report(r)
    if json_mode:
        emit_json({"stack": r.stack_name, "summary": result["summary"], "kept": kept, "leftovers": left.to_json()})
    else:
        if kept:
            stdout().print(f"kept: {', '.join(kept)}")
        print_leftovers(left, after_destroy=True)


def refresh(stack: str, cloud: str | None, *, json_mode: bool) -> None:
    r, make_engine = prerequisites(stack, cloud, action="refresh")
    with reporter(json_mode, f"refreshing {r.stack_name}") as progress:
        result = engine_call(lambda: make_engine(progress).refresh())
    if json_mode:
        emit_json({"stack": r.stack_name, "summary": result["summary"]})


def cancel(stack: str, cloud: str | None, *, yes: bool) -> None:
    r, make_engine = prerequisites(stack, cloud, action="cancel")
    _confirm(f"Cancel the running update of {r.stack_name} and release its lock?", yes=yes, what="cancel")
    engine_call(lambda: make_engine(None).cancel())
    notice(f"released the lock of {r.stack_name}")


def outputs(stack: str, cloud: str | None, *, json_mode: bool, show_secrets: bool) -> None:
    _, make_engine = prerequisites(stack, cloud, action="read outputs")
    values = engine_call(lambda: make_engine(None).outputs(show_secrets=show_secrets))
    if json_mode:
        emit_json(values)
        return
    out = stdout()
    for key, value in values.items():
        out.print(f"{key}: {value}", markup=False)
    # Front door: a ready-to-paste request, the key never printed unless asked
    example = curl_example(values, stack)
    if example:
        out.print("", markup=False)
        out.print(example, markup=False)


def curl_example(values: dict[str, Any], stack: str) -> str:
    """A curl call of the stack's endpoint with the key in $LLMCLOUD_API_KEY (masked), or "" without one."""
    endpoint = values.get("endpoint")
    gateway = values.get("gateway") or {}
    models = list(gateway.get("models") or values.get("models") or [])
    if not isinstance(endpoint, str) or not endpoint.startswith("https://") or not models:
        return ""
    lines = ["# try it:"]
    auth = gateway.get("auth", "api_key") != "none"
    if auth:
        lines += [
            "# the API key is masked; print it with:",
            f"#   llmcloud outputs {stack} --show-secrets",
            "export LLMCLOUD_API_KEY=...   # api_keys.default",
        ]
    lines.append(f"curl -N {endpoint}/v1/chat/completions \\")
    if auth:
        lines.append('  -H "Authorization: Bearer $LLMCLOUD_API_KEY" \\')
    body = json.dumps({"model": models[0], "stream": True, "messages": [{"role": "user", "content": "Hello!"}]})
    lines += ['  -H "Content-Type: application/json" \\', f"  -d '{body}'"]
    return "\n".join(lines)
