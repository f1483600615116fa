"""Leftover check after destroy: AWS against moto's tagging API, GCP and Azure against recorded
responses (issue 10, part 4)."""

from __future__ import annotations

import json

from llmcloud.components import leftovers
from llmcloud.components.ops_http import JsonApi


def test_aws_leftovers_from_the_tagging_api(aws_env):
    import boto3

    ec2 = boto3.client("ec2", region_name="us-east-1")
    tags = [{"Key": "llmcloud-stack", "Value": "dev-aws"}, {"Key": "Name", "Value": "llm-dev-cache"}]
    volume = ec2.create_volume(
        AvailabilityZone="us-east-1a",
        Size=100,
        VolumeType="gp3",
        TagSpecifications=[{"ResourceType": "volume", "Tags": tags}],
    )
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.run_instances(
        ImageId=image,
        InstanceType="m6i.xlarge",
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [tags[0]]}],
    )
    ec2.create_volume(
        AvailabilityZone="us-east-1a",
        Size=5,
        TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "llmcloud-stack", "Value": "prod-aws"}]}],
    )
    tagging = boto3.client("resourcegroupstaggingapi", region_name="us-east-1")
    report = leftovers.run("aws", "dev-aws", region="us-east-1", tagging=tagging, ec2=ec2)
    assert report.skipped is None
    by_type = {x.type: x for x in report.leftovers}
    assert set(by_type) == {"ec2:volume", "ec2:instance"}  # not the prod stack's volume
    vol = by_type["ec2:volume"]
    assert vol.id.endswith(volume["VolumeId"]) and vol.name == "llm-dev-cache"
    assert vol.monthly == 8.0 and vol.note == "100 GB gp3"
    instance = by_type["ec2:instance"]
    assert instance.note == "m6i.xlarge"
    assert instance.monthly == leftovers.machine_month("aws", "us-east-1", "m6i.xlarge")
    assert instance.monthly and report.monthly == round(8.0 + instance.monthly, 2)


def test_aws_prices_of_types_moto_does_not_tag():
    from llmcloud.components.aws import leftovers as aws

    eip = aws._price(
        leftovers.Leftover("ec2:elastic-ip", "ip", "arn:aws:ec2:us-east-1:1:elastic-ip/eipalloc-1"),
        "us-east-1",
        ec2=None,
    )
    assert eip.monthly == 3.65
    bucket = aws._price(leftovers.Leftover("s3", "b", "arn:aws:s3:::b"), "us-east-1", ec2=None)
    assert bucket.kept
    assert aws._kind("arn:aws:ec2:us-east-1:123:volume/vol-1") == ("ec2:volume", "vol-1", "us-east-1")


def test_gcp_leftovers_from_cloud_asset_inventory(recorded):
    recorded.add("GET", "/v1/projects/llmcloud-demo:searchAllResources", "gcp_assets_dev-gcp.json")
    report = leftovers.run(
        "gcp", "dev-gcp", project="llmcloud-demo", region="us-central1", api=JsonApi(recorded.url, "t")
    )
    assert recorded.requests[0]["query"]["query"] == "labels.llmcloud-stack:dev-gcp"
    names = {x.name: x for x in report.leftovers}
    assert set(names) == {"gke-llm-dev-l4-1a2b3c-pvc", "llm-dev-ingress", "llmcloud-demo-dev-gcp-weights"}
    assert names["gke-llm-dev-l4-1a2b3c-pvc"].monthly == 20.0  # 200 GB pd-balanced
    assert names["llm-dev-ingress"].monthly == 7.3
    assert names["llmcloud-demo-dev-gcp-weights"].kept
    assert report.monthly == 27.3


def test_azure_leftovers_from_resource_graph(recorded):
    recorded.add("POST", "/providers/Microsoft.ResourceGraph/resources", "azure_graph_dev-azure.json")
    report = leftovers.run("azure", "dev-azure", region="eastus", api=JsonApi(recorded.url, "t"), subscription="sub-1")
    body = recorded.requests[0]["body"]
    assert body["subscriptions"] == ["sub-1"] and "tags['llmcloud-stack'] == 'dev-azure'" in body["query"]
    by_type = {x.type: x for x in report.leftovers}
    assert by_type["microsoft.compute/disks"].monthly == 38.4  # 256 GB Premium SSD
    assert by_type["microsoft.network/publicipaddresses"].monthly == 3.65
    assert by_type["microsoft.compute/virtualmachinescalesets"].monthly is not None
    assert by_type["microsoft.storage/storageaccounts"].kept
    assert len(report.billable) == 3


def test_cli_leftovers_json_and_skip(cli, recorded, monkeypatch):
    recorded.add("GET", "/v1/projects/llmcloud-demo:searchAllResources", "gcp_assets_dev-gcp.json")
    monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.cli")
    monkeypatch.setenv("LLMCLOUD_GCP_ASSET_URL", recorded.url)
    result = cli("leftovers", "dev", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["stack"] == "dev-gcp" and data["monthly_estimate"] == 27.3
    assert cli("leftovers", "dev", "--strict").exit_code == 1
    monkeypatch.delenv("GOOGLE_OAUTH_ACCESS_TOKEN")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    skipped = cli("leftovers", "dev")
    assert skipped.exit_code == 0 and "leftover check skipped" in skipped.stderr
