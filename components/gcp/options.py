"""Resource options the GCP components share."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi


def child(
    parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource] = (), **kwargs: object
) -> pulumi.ResourceOptions:
    """Options of a component's child: parented, and waiting for `depends_on` (the enabled APIs, the
    cluster). A component's own depends_on does not reach its children in Pulumi, so each child gets
    the list itself."""
    return pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on) or None, **kwargs)  # type: ignore[arg-type]
