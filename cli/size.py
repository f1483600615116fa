"""llmcloud size MODEL: which accelerators fit a model, cheapest first, on every cloud."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .common import INVALID, emit_json, fail, stdout


def default_region(cloud: str) -> str:
    """The region a stack gets when its cloud block does not name one."""
    from llmcloud.components import registry

    return registry.cloud(cloud).default_region()


def facts_from_config(path: Path) -> Any:
    """Model facts from a local Hugging Face config.json (parameters estimated from the shapes)."""
    from llmcloud.components.sizing import ModelFacts

    try:
        cfg = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        fail(INVALID, f"{path}: cannot read a config.json ({exc})")
    cfg = cfg.get("text_config", cfg)  # multimodal configs nest the language model
    try:
        hidden, layers = int(cfg["hidden_size"]), int(cfg["num_hidden_layers"])
        heads = int(cfg["num_attention_heads"])
    except (KeyError, TypeError, ValueError) as exc:
        fail(INVALID, f"{path}: missing {exc} (need hidden_size, num_hidden_layers, num_attention_heads)")
    kv_heads = int(cfg.get("num_key_value_heads", heads))
    head_dim = int(cfg.get("head_dim") or hidden // heads)
    inter = int(cfg.get("intermediate_size", 4 * hidden))
    vocab = int(cfg.get("vocab_size", 32000))
    experts = int(cfg.get("num_local_experts", cfg.get("num_experts", 1)) or 1)
    # attention (q, o: heads × head_dim; k, v: kv_heads × head_dim) + gated MLP (3 matrices) per expert
    per_layer = hidden * head_dim * (2 * heads + 2 * kv_heads) + 3 * hidden * inter * experts
    embeddings = vocab * hidden * (1 if cfg.get("tie_word_embeddings") else 2)
    params_b = (layers * per_layer + embeddings) / 1e9
    dtype = str(cfg.get("torch_dtype") or cfg.get("dtype") or "bfloat16")
    return ModelFacts(name=str(path), params_b=params_b, layers=layers, kv_heads=kv_heads, head_dim=head_dim,
                      max_context=int(cfg.get("max_position_embeddings", 4096)), dtype=dtype)


def run(model: str, *, quantization: str | None, max_model_len: int | None, concurrency: int, spot: bool,
        clouds: list[str], regions: dict[str, str], top: int, json_mode: bool) -> None:
    from llmcloud.components.optimizer import options
    from llmcloud.components.sizing import facts_for, load_models

    path = Path(model)
    if path.suffix == ".json" or path.is_file():
        facts = facts_from_config(path)
    else:
        facts = facts_for(model if "://" in model else f"hf://{model}")
        if facts is None:
            known = ", ".join(sorted(f.name for f in load_models().values())[:8])
            fail(INVALID, f"unknown model {model!r}: give a Hugging Face id from the catalog (e.g. {known}, ...) "
                          "or the path of its config.json")
    demand = [(facts, quantization, max_model_len, concurrency, 0.90)]
    ranking = []
    for cloud in clouds:
        region = regions.get(cloud) or default_region(cloud)
        ranking += options(demand, cloud, region, spot=spot)[:top]
    ranking.sort(key=lambda o: o.hourly)
    if json_mode:
        emit_json({"model": facts.name, "params_b": round(facts.params_b, 2), "quantization": quantization,
                   "max_model_len": max_model_len or facts.max_context, "options": [o.to_json() for o in ranking]})
        return
    if not ranking:
        fail(INVALID, f"no machine fits {facts.name} in the chosen regions: quantize, shorten --max-model-len, "
                      "or split it across nodes")
    from rich.table import Table

    first = ranking[0].fits[0]
    table = Table(title=f"{facts.name}: {facts.params_b:.1f}B parameters, needs {first.needed_gib:.1f} GiB "
                  f"(weights {first.weights_gib:.1f} + KV cache {first.kv_cache_gib:.1f} at {first.max_model_len} "
                  f"tokens × {concurrency} + overhead {first.overhead_gib:.1f}); cheapest first", title_justify="left")
    for col, justify in (("cloud", "left"), ("region", "left"), ("machine", "left"), ("accelerators", "left"),
                         ("usable GiB", "right"), ("$/hour", "right"), ("$/month", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for o in ranking:
        f = o.fits[0]
        table.add_row(o.cloud, o.region, o.machine_type + (" (spot)" if o.spot else ""), f"{o.count} × {o.accelerator}",
                      f"{f.usable_gib:.1f}", f"${o.hourly:,.2f}", f"${o.hourly * 730:,.0f}")
    stdout().print(table)
