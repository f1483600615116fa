"""Every cloud × capability cell is implemented (and importable), or listed as unsupported with a reason;
an unknown cloud or capability names what exists."""

from __future__ import annotations

import pytest
from llmcloud.components import registry


@pytest.mark.parametrize("cloud", registry.CLOUDS)
@pytest.mark.parametrize("capability", registry.CAPABILITIES)
def test_cell_is_implemented_or_unsupported_with_a_reason(cloud, capability):
    if registry.implemented(cloud, capability):
        assert callable(registry.get(cloud, capability))
    else:
        assert registry.UNSUPPORTED.get((cloud, capability)), f"{cloud} × {capability}: neither built nor explained"
        with pytest.raises(registry.NotImplementedForCloud, match=registry.UNSUPPORTED[(cloud, capability)]):
            registry.get(cloud, capability)


def test_unknown_names_list_the_known_ones():
    with pytest.raises(KeyError, match="known: gcp, aws, azure"):
        registry.get("ibm", "cluster")
    with pytest.raises(registry.NotImplementedForCloud, match="implemented on gcp: "):
        registry.get("gcp", "quantum_annealer")


def test_cloud_checks_are_sdk_free():
    import subprocess
    import sys

    probe = ("import sys\nfrom llmcloud.components import registry\n"
             "[registry.checks(c) for c in registry.CLOUDS]\n"
             "sdks = ('pulumi_aws', 'pulumi_azure_native', 'pulumi_gcp')\n"
             "print(sorted(m for m in sys.modules if m.startswith(sdks)))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60).stdout.strip()
    assert out == "[]"
