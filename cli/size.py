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


MAX_CONFIG_BYTES = 4 * 1024 * 1024  # a config.json is a few KiB


def _read_config(path: Path) -> Any:
    """A config.json read from a regular file of bounded size (never a FIFO or a device)."""
    import stat

    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            fail(INVALID, f"{path}: not a regular file (a directory, FIFO or device?); give a config.json")
        if st.st_size > MAX_CONFIG_BYTES:
            fail(INVALID, f"{path}: {st.st_size} bytes is too large for a config.json (at most {MAX_CONFIG_BYTES})")
        with path.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
        return json.loads(raw.decode("utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        fail(INVALID, f"{path}: cannot read a config.json ({type(exc).__name__}: {str(exc)[:120]})")


def _count(cfg: dict[str, Any], key: str, default: Any, path: Path, *, low: int = 1) -> int:
    """A positive whole number from the config (bool, fractions, infinities and absurd sizes refused)."""
    value = cfg.get(key, default)
    if value is None:
        value = default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 10**8:
        fail(INVALID, f"{path}: {key} is {str(value)[:40]!r}; allowed: a whole number from {low} to 100000000")
    return value


def facts_from_config(path: Path) -> Any:
    """Model facts from a local Hugging Face config.json (parameters estimated from the shapes)."""
    from llmcloud.components.sizing import ModelFacts

    cfg = _read_config(path)
    if isinstance(cfg, dict) and isinstance(cfg.get("text_config"), dict):
        cfg = cfg["text_config"]  # multimodal configs nest the language model
    if not isinstance(cfg, dict):
        fail(
            INVALID, f"{path}: a config.json is a JSON object with hidden_size, num_hidden_layers, num_attention_heads"
        )
    missing = [k for k in ("hidden_size", "num_hidden_layers", "num_attention_heads") if k not in cfg]
    if missing:
        fail(
            INVALID, f"{path}: missing {', '.join(missing)} (need hidden_size, num_hidden_layers, num_attention_heads)"
        )
    hidden = _count(cfg, "hidden_size", None, path)
    layers = _count(cfg, "num_hidden_layers", None, path)
    heads = _count(cfg, "num_attention_heads", None, path)
    kv_heads = _count(cfg, "num_key_value_heads", heads, path)
    head_dim = _count(cfg, "head_dim", max(hidden // heads, 1), path)
    inter = _count(cfg, "intermediate_size", 4 * hidden, path)
    vocab = _count(cfg, "vocab_size", 32000, path)
    experts = _count(cfg, "num_local_experts", cfg.get("num_experts", 1) or 1, path)
    # attention (q, o: heads × head_dim; k, v: kv_heads × head_dim) + gated MLP (3 matrices) per expert
    per_layer = hidden * head_dim * (2 * heads + 2 * kv_heads) + 3 * hidden * inter * experts
    embeddings = vocab * hidden * (1 if cfg.get("tie_word_embeddings") else 2)
    params_b = (layers * per_layer + embeddings) / 1e9
    dtype = str(cfg.get("torch_dtype") or cfg.get("dtype") or "bfloat16")
    return ModelFacts(
        name=str(path),
        params_b=params_b,
        layers=layers,
        kv_heads=kv_heads,
        head_dim=head_dim,
        max_context=_count(cfg, "max_position_embeddings", 4096, path),
        dtype=dtype,
    )


def _check_options(
    clouds: list[str], quantization: str | None, max_model_len: int | None, concurrency: int, top: int
) -> None:
    """Every option checked before any work (a typo is a usage error, exit 2, never a traceback)."""
    from llmcloud.components.sizing import QUANT_BYTES
    from llmcloud.components.spec.errors import did_you_mean
    from llmcloud.components.spec.model import CLOUDS

    for cloud in clouds:
        if cloud not in CLOUDS:
            fail(
                INVALID, f"--cloud: unknown cloud {cloud!r}{did_you_mean(cloud, CLOUDS)}; allowed: {', '.join(CLOUDS)}"
            )
    if quantization is not None and quantization not in QUANT_BYTES:
        fail(
            INVALID,
            f"--quantization: {quantization!r} is not known{did_you_mean(quantization, QUANT_BYTES)}; "
            f"allowed: {', '.join(QUANT_BYTES)}",
        )
    if max_model_len is not None and not 1 <= max_model_len <= 2_097_152:
        fail(INVALID, f"--max-model-len {max_model_len} is out of range; allowed: 1..2097152")
    if not 1 <= concurrency <= 4096:
        fail(INVALID, f"--concurrency {concurrency} is out of range; allowed: 1..4096")
    if not 1 <= top <= 1000:
        fail(INVALID, f"--top {top} is out of range; allowed: 1..1000")


def run(
    model: str,
    *,
    quantization: str | None,
    max_model_len: int | None,
    concurrency: int,
    spot: bool,
    clouds: list[str],
    regions: dict[str, str],
    top: int,
    json_mode: bool,
) -> None:
    from llmcloud.components.optimizer import options
    from llmcloud.components.sizing import facts_for, load_models

    _check_options(clouds, quantization, max_model_len, concurrency, top)
    path = Path(model)
    if path.suffix == ".json" or path.exists():
        facts = facts_from_config(path)
    else:
        facts = facts_for(model if "://" in model else f"hf://{model}")
        if facts is None:
            known = ", ".join(sorted(f.name for f in load_models().values())[:8])
            fail(
                INVALID,
                f"unknown model {model!r}: give a Hugging Face id from the catalog (e.g. {known}, ...) "
                "or the path of its config.json",
            )
    demand = [(facts, quantization, max_model_len, concurrency, 0.90)]
    ranking = []
    for cloud in clouds:
        region = regions.get(cloud) or default_region(cloud)
        ranking += options(demand, cloud, region, spot=spot)[:top]
    ranking.sort(key=lambda o: o.hourly)
    if json_mode:
        emit_json(
            {
                "model": facts.name,
                "params_b": round(facts.params_b, 2),
                "quantization": quantization,
                "max_model_len": max_model_len or facts.max_context,
                "options": [o.to_json() for o in ranking],
            }
        )
        return
    if not ranking:
        fail(
            INVALID,
            f"no machine fits {facts.name} in the chosen regions: quantize, shorten --max-model-len, "
            "or split it across nodes",
        )
    from rich.table import Table

    first = ranking[0].fits[0]
    table = Table(
        title=f"{facts.name}: {facts.params_b:.1f}B parameters, needs {first.needed_gib:.1f} GiB "
        f"(weights {first.weights_gib:.1f} + KV cache {first.kv_cache_gib:.1f} at {first.max_model_len} "
        f"tokens × {concurrency} + overhead {first.overhead_gib:.1f}); cheapest first",
        title_justify="left",
    )
    for col, justify in (
        ("cloud", "left"),
        ("region", "left"),
        ("machine", "left"),
        ("accelerators", "left"),
        ("usable GiB", "right"),
        ("$/hour", "right"),
        ("$/month", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for o in ranking:
        f = o.fits[0]
        table.add_row(
            o.cloud,
            o.region,
            o.machine_type + (" (spot)" if o.spot else ""),
            f"{o.count} × {o.accelerator}",
            f"{f.usable_gib:.1f}",
            f"${o.hourly:,.2f}",
            f"${o.hourly * 730:,.0f}",
        )
    stdout().print(table)
