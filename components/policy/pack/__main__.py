"""Pulumi policy pack entry: `pulumi preview --policy-pack <this directory>` (llmcloud passes it for you
when the `policy` extra is installed)."""

from llmcloud.components.policy.pack.rules import pack

pack()
