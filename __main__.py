"""Pulumi program entry for `pulumi up` run in this directory; the llmcloud CLI runs the same program."""

from llmcloud.components.program import main

main()
