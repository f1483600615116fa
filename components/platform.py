"""The neutral contract between a cloud's platform (cluster, pools, buckets, identity) and the
cloud-neutral Kubernetes layer that runs on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import pulumi

_Inputs = TypeVar("_Inputs")


@dataclass
class Platform:
    cluster_name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]  # a secret
    bucket_urls: dict[str, pulumi.Output[str]]  # stack bucket name -> gs://, s3://, az:// URL
    # Put on the model servers' Kubernetes service account and pods so they get cloud identity.
    service_account_annotations: pulumi.Input[dict[str, str]]
    pod_labels: dict[str, str] = field(default_factory=dict)
    # The Kubernetes layer waits for these (node pools, identity bindings) before it starts.
    depends_on: list[pulumi.Resource] = field(default_factory=list)
    # The Kubernetes provider waits for these (the grant that lets the deployer call the cluster's API).
    provider_depends_on: list[pulumi.Resource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    # Cluster-scoped StorageClass manifests the Kubernetes phase creates before the model servers (e.g. the
    # local NVMe class of Azure Container Storage); the model pods' volumes name them (pool.local_volume_class).
    storage_classes: list[dict[str, Any]] = field(default_factory=list)
    # What the cloud's front door (components/<cloud>/front_door.py) builds on: the cloud's own frozen
    # dataclass (GcpFrontDoorInputs ... in components/<cloud>/__init__.py): the provider and, per cloud, the
    # network and identity pieces. The front door reads it with `front_door_inputs(<its type>)`.
    front_door: object = None

    def front_door_inputs(self, kind: type[_Inputs]) -> _Inputs:
        """`front_door` as the cloud's own type: another type is a programming error, not a user's."""
        from .cloud import of_type

        return of_type(self.front_door, kind, "the platform's front-door inputs")


class FrontDoor(Protocol):
    """The contract of a cloud's front door (components/<cloud>/front_door.py) with the program: the
    outputs `llmcloud outputs` shows. Each cloud's front door component has these attributes."""

    endpoint: pulumi.Output[str]  # https://<domain or the product's host>
    api_keys: pulumi.Output[dict[str, str]]  # key name -> key (a secret)
    dns_records: pulumi.Output[list[dict[str, str]]]  # records the user creates when llmcloud does not
