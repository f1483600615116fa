"""The catalog: accelerators, machine shapes, regions, zones and prices per cloud, as dated data.

`resolve` (which machine a pool gets), the cost engine and sizing read the same rows, so what is
deployed and what is priced cannot disagree. The format is described in data/FORMAT.md.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import yamldata

DATA = Path(__file__).parent / "data"
HOURS_PER_MONTH = 730


@dataclass(frozen=True)
class Taint:
    """A Kubernetes node taint, in one format (the catalog's `key=value:Effect`); each cloud's pool builder
    writes it its provider's way."""

    key: str
    value: str
    effect: str = "NoSchedule"  # Kubernetes spelling: NoSchedule | PreferNoSchedule | NoExecute

    @classmethod
    def parse(cls, text: str) -> Taint:
        """`key=value:Effect` (value optional: `key:Effect`)."""
        head, _, effect = text.rpartition(":")
        if not head or effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            raise ValueError(f"taint {text!r} is not key=value:NoSchedule|PreferNoSchedule|NoExecute")
        key, _, value = head.partition("=")
        return cls(key, value, effect)

    def __str__(self) -> str:
        return f"{self.key}={self.value}:{self.effect}" if self.value else f"{self.key}:{self.effect}"

    @property
    def provider_effect(self) -> str:
        """The effect as the GKE and EKS APIs spell it: NO_SCHEDULE, PREFER_NO_SCHEDULE, NO_EXECUTE."""
        return {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}[
            self.effect
        ]

    def toleration(self) -> dict[str, str]:
        """A toleration of this taint whatever its value."""
        return {"key": self.key, "operator": "Exists", "effect": self.effect}


VENDOR_FACTS = ("k8s_resource", "vendor", "taint", "device_plugin", "image_family", "cores_per_device")


@dataclass(frozen=True)
class Accelerator:
    name: str  # neutral name: L4, H100, TPU-v5e, ...
    id: str  # the cloud's string
    kind: str  # gpu | tpu | neuron
    memory_gib: float
    billing: str  # bundled | attached | per_chip
    # Vendor facts (data/FORMAT.md): nothing about an accelerator is inferred from its kind.
    k8s_resource: str  # the extended resource pods request
    vendor: str  # nvidia | google | aws | amd ...
    taint: Taint  # its nodes' NoSchedule taint
    device_plugin: str  # whose device plugin advertises k8s_resource
    image_family: str  # the serving image family (k8s/images.py)
    cores_per_device: int  # cores the runtime counts per device (NeuronCores per Neuron chip)


@dataclass(frozen=True)
class Machine:
    machine_type: str
    accelerator: str | None  # neutral name; None for CPU shapes
    count: int
    vcpus: int
    memory_gib: float
    local_ssd_gib: int = 0
    temp_disk_gib: int = 0  # the VM's temporary (resource) disk, where one exists (Azure; FORMAT.md)
    spot: bool = True
    tpu_topology: str | None = None
    serving: bool = True
    note: str = ""
    accelerator_id: str | None = None  # row override of Accelerator.id (GCP a3-megagpu)
    accelerator_memory_gib: float | None = None  # row override (Azure H100 NVL: 94 GiB)

    @property
    def family(self) -> str:
        return self.machine_type.split("-")[0].split(".")[0].split("_")[0]


@dataclass(frozen=True)
class Price:
    on_demand: float
    spot: float | None

    def hourly(self, spot: bool) -> float:
        if spot and self.spot is not None:
            return self.spot
        return self.on_demand


@dataclass
class CloudCatalog:
    cloud: str
    as_of: str
    sources: list[str]
    accelerators: dict[str, Accelerator]
    machines: list[Machine]
    cpu_machines: list[Machine]
    regions: dict[str, dict[str, list[str]]]  # region -> zone -> neutral accelerators offered
    prices: dict[str, dict[str, dict[str, Price]]]  # region -> section -> name -> price
    services: dict[str, Any] = field(default_factory=dict)

    # ---- look-ups used by resolve

    def offered_accelerators(self, region: str | None = None) -> list[str]:
        if region is None:
            return sorted({m.accelerator for m in self.machines if m.accelerator and m.serving})
        return sorted({a for zone in self.regions.get(region, {}).values() for a in zone})

    def zones_offering(self, region: str, accelerator: str) -> list[str]:
        return sorted(z for z, accs in self.regions.get(region, {}).items() if accelerator in accs)

    def machines_for(self, accelerator: str, count: int | None = None) -> list[Machine]:
        rows = [m for m in self.machines if m.accelerator == accelerator]
        if count is not None:
            rows = [m for m in rows if m.count == count]
        return sorted(rows, key=lambda m: (m.count, m.vcpus, m.memory_gib, m.machine_type))

    def cpu_machine(self, machine_type: str) -> Machine | None:
        return next((m for m in self.cpu_machines if m.machine_type == machine_type), None)

    def accelerator_memory(self, machine: Machine) -> float:
        if machine.accelerator_memory_gib is not None:
            return machine.accelerator_memory_gib
        return self.accelerators[machine.accelerator].memory_gib if machine.accelerator else 0.0

    # ---- prices

    def machine_price(self, region: str, machine: Machine) -> Price | None:
        """List price of one node of `machine` in `region`, as the cloud bills it."""
        table = self.prices.get(region, {})
        if machine.accelerator is None:
            return table.get("cpu_machines", {}).get(machine.machine_type)
        acc = self.accelerators[machine.accelerator]
        vm = table.get("machines", {}).get(machine.machine_type)
        if acc.billing == "bundled":
            return vm
        per_acc = table.get("accelerators", {}).get(acc.name)
        if per_acc is None:
            return None
        base = vm or Price(0.0, 0.0)  # per_chip (TPU): the VM is included in the chip-hour price
        spot = None
        if base.spot is not None and per_acc.spot is not None:
            spot = base.spot + machine.count * per_acc.spot
        return Price(base.on_demand + machine.count * per_acc.on_demand, spot)

    def service(self, key: str, region: str | None = None, default: Any = None) -> Any:
        if region:
            override = self.prices.get(region, {}).get("services", {})
            if key in override:
                return override[key]
        return self.services.get(key, default)


def _accelerator(path: Path, name: str, row: dict[str, Any]) -> Accelerator:
    missing = [f for f in ("id", "kind", "memory_gib", *VENDOR_FACTS) if row.get(f) in (None, "")]
    if missing:
        raise ValueError(
            f"{path}: accelerators.{name} lacks {', '.join(missing)} (see data/FORMAT.md; a catalog "
            "written by an older `llmcloud prices refresh` is refreshed again to get them)"
        )
    return Accelerator(
        name=name,
        id=row["id"],
        kind=row["kind"],
        memory_gib=float(row["memory_gib"]),
        billing=row.get("billing", "bundled"),
        k8s_resource=row["k8s_resource"],
        vendor=row["vendor"],
        taint=Taint.parse(row["taint"]),
        device_plugin=row["device_plugin"],
        image_family=row["image_family"],
        cores_per_device=int(row["cores_per_device"]),
    )


def _machine(row: dict[str, Any]) -> Machine:
    known = set(Machine.__dataclass_fields__)
    return Machine(**{k: v for k, v in row.items() if k in known})


def _prices(section: dict[str, Any]) -> dict[str, Price]:
    out = {}
    for name, pair in (section or {}).items():
        if isinstance(pair, dict):
            out[name] = Price(float(pair["on_demand"]), pair.get("spot"))
        else:
            on_demand, spot = [*pair, None][:2] if isinstance(pair, list) else (pair, None)
            out[name] = Price(float(on_demand), float(spot) if spot is not None else None)
    return out


USER_CATALOG_ENV = "LLMCLOUD_CATALOG_DIR"


def catalog_path(cloud: str) -> Path:
    """The file `load` reads: `$LLMCLOUD_CATALOG_DIR/<cloud>.yaml` when that exists (a catalog written by
    `llmcloud prices refresh`), else the shipped one. The shipped data is never modified."""
    user_dir = os.environ.get(USER_CATALOG_ENV)
    if user_dir:
        candidate = Path(user_dir).expanduser() / f"{cloud}.yaml"
        if candidate.is_file():
            return candidate
    return DATA / f"{cloud}.yaml"


def load(cloud: str) -> CloudCatalog:
    """The catalog of `cloud`: the user's refreshed copy if $LLMCLOUD_CATALOG_DIR has one, else the shipped
    one (parsed once per process, and again when the file changes)."""
    path = catalog_path(cloud)
    return _load_file(cloud, path, path.stat().st_mtime_ns)


@functools.cache
def accelerator_names() -> tuple[str, ...]:
    """Every neutral accelerator name in the shipped catalogs of the registered clouds (the stack schema's
    `accelerator` values). Reads only each file's `accelerators:` section, so importing the schema stays fast."""
    from ..registry import CLOUDS

    names: dict[str, None] = {}
    for cloud in CLOUDS:
        path = DATA / f"{cloud}.yaml"
        lines = path.read_text(encoding="utf-8").splitlines()
        start = next((i for i, line in enumerate(lines) if line.startswith("accelerators:")), None)
        if start is None:
            continue
        end = next((i for i in range(start + 1, len(lines)) if lines[i][:1] not in ("", " ", "#")), len(lines))
        section = yamldata.load("\n".join(lines[start:end])) or {}
        names.update(dict.fromkeys(section.get("accelerators") or {}))
    return tuple(names)


def kind_of(accelerator: str) -> str | None:
    """The kind (gpu, tpu, neuron) of a neutral accelerator name, from the first registered cloud's catalog
    that lists it; None when none does."""
    from ..registry import names

    for cloud in names():
        try:
            acc = load(cloud).accelerators.get(accelerator)
        except OSError:  # a registered cloud without a catalog file (a test's fake cloud)
            continue
        if acc is not None:
            return acc.kind
    return None


@functools.cache
def _load_file(cloud: str, path: Path, mtime_ns: int) -> CloudCatalog:
    raw = yamldata.load_file(path)
    accelerators = {name: _accelerator(path, name, a) for name, a in raw.get("accelerators", {}).items()}
    prices: dict[str, dict[str, dict[str, Price]]] = {}
    for region, sections in (raw.get("prices") or {}).items():
        prices[region] = {
            key: (_prices(value) if key != "services" else value) for key, value in (sections or {}).items()
        }
    return CloudCatalog(
        cloud=cloud,
        as_of=str(raw.get("as_of", "")),
        sources=list(raw.get("sources", [])),
        accelerators=accelerators,
        machines=[_machine(r) for r in raw.get("machines", [])],
        cpu_machines=[_machine({**r, "accelerator": None, "count": 0}) for r in raw.get("cpu_machines", [])],
        regions={
            r: {z: list(a or []) for z, a in (v.get("zones") or {}).items()}
            for r, v in (raw.get("regions") or {}).items()
        },
        prices=prices,
        services=raw.get("services", {}) or {},
    )
