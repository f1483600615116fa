"""Local SSD for GKE nodes' ephemeral storage (pure Python: validate and resolve read it without the SDK).

- A2 Ultra, A3 and A4 machine types come with a fixed number of Local SSD disks ("every machine type comes
  with Local SSD storage"): https://cloud.google.com/compute/docs/disks/add-local-ssd (checked 2026-12-01).
  The catalog row's `local_ssd_gib` is that bundled capacity (it is also what the row is priced with).
- Each Local SSD disk is 375 GiB: https://cloud.google.com/compute/docs/disks/local-ssd (checked 2026-12-01).
- `node_config.ephemeral_storage_local_ssd_config.local_ssd_count` (pulumi-gcp 10.2.0, GKE API
  EphemeralStorageLocalSsdConfig) puts emptyDir volumes, container writable layers and images on the
  node's Local SSDs (RAID 0) instead of the boot disk. We pass the bundled count itself: GKE's API reads 0
  as "the machine's default" only on third-generation machines and as "off" on older ones, and A2 Ultra
  is second generation. https://cloud.google.com/kubernetes-engine/docs/how-to/persistent-volumes/local-ssd
- Machines where Local SSD is optional (N1 with T4, A2 Standard, G2) get none: each allows only certain
  disk counts, which could not be read here, so their pods keep the boot disk (`disk_gb`).
"""

from __future__ import annotations

LOCAL_SSD_GIB = 375


def bundled_local_ssd_count(local_ssd_gib: int) -> int:
    """How many 375 GiB Local SSD disks a catalog row's bundled `local_ssd_gib` is (0: none bundled)."""
    return local_ssd_gib // LOCAL_SSD_GIB if local_ssd_gib > 0 else 0


def ephemeral_gib(local_ssd_count: int) -> int:
    """GiB of ephemeral storage that many Local SSD disks give a node."""
    return local_ssd_count * LOCAL_SSD_GIB
