"""llmcloud up / destroy / refresh / cancel / outputs: the real engine (Automation API + pulumi CLI)."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer

from .common import (
    BLOCKED,
    FAILED,
    INVALID,
    MISSING,
    PULUMI_INSTALL,
    emit_json,
    fail,
    load,
    notice,
    pulumi_cli,
    require_sdk,
    stderr,
    stdout,
)


def engine_essentials(action: str) -> tuple[str, dict[str, str]]:
    """The pulumi CLI and the state passphrase, or exit 4 saying how to get them."""
    from llmcloud.components.engine import credentials

    exe = pulumi_cli()
    if exe is None:
        fail(MISSING, f"the pulumi CLI is needed to {action} and was not found: {PULUMI_INSTALL}")
    passphrase = credentials.passphrase_env()
    if passphrase is None:
        fail(MISSING, credentials.PASSPHRASE_HELP)
    return exe, passphrase


def prerequisites(stack: str, cloud: str | None, *, action: str) -> tuple[Any, Any]:
    """Everything the real engine needs, checked before anything runs (exit 2 or 4)."""
    from llmcloud.components.engine import credentials

    _, r = load(stack, cloud)
    require_sdk(r.cloud)
    exe, passphrase = engine_essentials(action)
    if not credentials.has_credentials(r.cloud):
        fail(MISSING, f"no {r.cloud} credentials found; expected {credentials.EXPECTED[r.cloud]}")
    from llmcloud.components.engine.real import RealEngine, settings_for

    # `resolved` overrides the stack as deployed (up stamps the ttl deadline and cost: components/ttl.py).
    return r, lambda on_event=None, resolved=None: RealEngine(
        resolved or r, settings_for(resolved or r, exe, passphrase), on_event=on_event)


def _engine_call(fn: Any) -> Any:
    from llmcloud.components.engine.real import EngineError

    try:
        return fn()
    except EngineError as exc:
        fail(FAILED, str(exc))


def _interactive() -> bool:
    return sys.stdin.isatty()


def _confirm(question: str, *, yes: bool, what: str) -> None:
    if yes:
        return
    if not _interactive():
        fail(INVALID, f"refusing to {what} without confirmation: no terminal to ask; pass --yes")
    if not typer.confirm(question, default=False, err=True):
        stderr().print("cancelled; nothing changed")
        raise typer.Exit(0)


def _reporter(json_mode: bool, title: str) -> Any:
    from .progress import JsonLines, Progress

    return JsonLines() if json_mode else Progress(stderr(), title)


def real_preview(r: Any, make_engine: Any, *, json_mode: bool, expect_no_changes: bool) -> Any:
    """A preview by the real engine, as a Plan; progress on stderr for people, nothing extra for --json
    (stdout then holds the plan JSON alone)."""
    if json_mode:
        return _engine_call(lambda: make_engine(None).preview(expect_no_changes=expect_no_changes))
    with _reporter(False, f"previewing {r.stack_name}") as progress:
        return _engine_call(lambda: make_engine(progress).preview(expect_no_changes=expect_no_changes))


def up(stack: str, cloud: str | None, *, yes: bool, json_mode: bool = False, budget: float | None = None,
       budget_on: str = "expected", strict: bool = False) -> None:
    from .preview import assess, budget_reason, policy_gate
    from .render import cost_table

    r, make_engine = prerequisites(stack, cloud, action="deploy")
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
    # Preflight (cli/ops.py): quota and zones of every accelerator pool; --strict stops here (exit 3)
    from .ops import preflight_gate

    preflight_gate(r, strict=strict, json_mode=json_mode)
    r = stamp(r, monthly_cost_expected=(plan.cost.get("monthly") or {}).get("expected"))
    make_engine = functools.partial(make_engine, resolved=r)  # the expected cost becomes a stack output
    _confirm(f"Deploy {r.stack_name} ({r.cloud} {r.region})?", yes=yes, what="deploy")
    with _reporter(json_mode, f"deploying {r.stack_name}") as progress:
        result = _engine_call(lambda: make_engine(progress).up())
    from .cost import record

    record(r.stack_name, plan.cost)  # for `llmcloud cost STACK --diff deployed`
    if json_mode:
        emit_json({"stack": r.stack_name, "summary": result["summary"], "outputs": result["outputs"],
                   "cost": plan.cost["monthly"]})
    else:
        out = stdout()
        for key, value in result["outputs"].items():
            if key != "kubeconfig":
                out.print(f"{key}: {value}")


def destroy(stack: str, cloud: str | None, *, yes: bool, delete_data: bool, json_mode: bool = False) -> None:
    r, make_engine = prerequisites(stack, cloud, action="destroy")
    engine = make_engine(None)
    from llmcloud.components.engine.real import DATA_TYPES

    state = _engine_call(engine.state_resources)
    data = [res for res in state if res.get("type") in DATA_TYPES]
    names = [d["urn"].rsplit("::", 1)[-1] for d in data]
    err = stderr()
    if delete_data:
        if names:
            err.print(f"[bold red]--delete-data[/]: these buckets and the weights in them will be deleted: "
                      f"{', '.join(names)}")
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
    with _reporter(json_mode, f"destroying {r.stack_name}") as progress:
        result = _engine_call(lambda: make_engine(progress).destroy(delete_data=delete_data, resources=state))
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
    with _reporter(json_mode, f"refreshing {r.stack_name}") as progress:
        result = _engine_call(lambda: make_engine(progress).refresh())
    if json_mode:
        emit_json({"stack": r.stack_name, "summary": result["summary"]})


def cancel(stack: str, cloud: str | None, *, yes: bool) -> None:
    r, make_engine = prerequisites(stack, cloud, action="cancel")
    _confirm(f"Cancel the running update of {r.stack_name} and release its lock?", yes=yes, what="cancel")
    _engine_call(lambda: make_engine(None).cancel())
    notice(f"released the lock of {r.stack_name}")


def outputs(stack: str, cloud: str | None, *, json_mode: bool, show_secrets: bool) -> None:
    _, make_engine = prerequisites(stack, cloud, action="read outputs")
    values = _engine_call(lambda: make_engine(None).outputs(show_secrets=show_secrets))
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
        lines += ["# the API key is masked; print it with:", f"#   llmcloud outputs {stack} --show-secrets",
                  "export LLMCLOUD_API_KEY=...   # api_keys.default"]
    lines.append(f"curl -N {endpoint}/v1/chat/completions \\")
    if auth:
        lines.append('  -H "Authorization: Bearer $LLMCLOUD_API_KEY" \\')
    body = json.dumps({"model": models[0], "stream": True, "messages": [{"role": "user", "content": "Hello!"}]})
    lines += ['  -H "Content-Type: application/json" \\', f"  -d '{body}'"]
    return "\n".join(lines)
