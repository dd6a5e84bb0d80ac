#!/usr/bin/env python3
"""Seeds a moto server with what a user's AWS account has before `pypictl deploy`.

    .tools/moto/bin/python scripts/moto/seed.py http://127.0.0.1:PORT [--zone-name example.com]

Creates, in us-east-1:
  - a VPC (10.42.0.0/16) with EnableDnsSupport and EnableDnsHostnames on;
  - an internet gateway attached to it and a public route table (0.0.0.0/0 -> gateway);
  - 2 public subnets in 2 AZs (the load balancer's) associated with that route table;
  - 2 private subnets in the same 2 AZs (the instances');
  - a public Route53 hosted zone.
and prints them as one JSON object:
  {"region", "vpc_id", "load_balancer_subnets", "asg_subnets", "zone_id", "zone_name"}

Credentials are dummies (moto accepts anything); every request goes to the endpoint given, which must
be on the loopback interface.
"""

import argparse
import json
import os
import sys
import time
import urllib.parse

REGION = "us-east-1"
AZS = ("us-east-1a", "us-east-1b")


def dummy_credentials() -> None:
    """Dummy credentials and region for boto3, so nothing from the caller's real AWS setup is used."""
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    os.environ["AWS_SESSION_TOKEN"] = "testing"
    os.environ["AWS_DEFAULT_REGION"] = REGION
    os.environ.pop("AWS_PROFILE", None)
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull


def check_loopback(endpoint: str) -> None:
    host = urllib.parse.urlparse(endpoint).hostname or ""
    if host not in ("127.0.0.1", "localhost", "::1") and not host.startswith("127."):
        sys.exit(f"seed.py: refusing non-loopback endpoint {endpoint!r} (moto runs on 127.0.0.1)")


def client(service: str, endpoint: str):
    import boto3

    return boto3.client(service, region_name=REGION, endpoint_url=endpoint)


def seed(endpoint: str, zone_name: str = "example.com") -> dict:
    check_loopback(endpoint)
    dummy_credentials()
    ec2 = client("ec2", endpoint)
    route53 = client("route53", endpoint)

    vpc_id = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    # One attribute per call: that is the API's rule.
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": "pypictl-seed"}])

    igw_id = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    public_rt = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)

    public, private = [], []
    for i, az in enumerate(AZS):
        sid = ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.42.{i}.0/24", AvailabilityZone=az)["Subnet"]["SubnetId"]
        ec2.modify_subnet_attribute(SubnetId=sid, MapPublicIpOnLaunch={"Value": True})
        ec2.associate_route_table(RouteTableId=public_rt, SubnetId=sid)
        ec2.create_tags(Resources=[sid], Tags=[{"Key": "Name", "Value": f"public-{az}"}])
        public.append(sid)
    for i, az in enumerate(AZS):
        sid = ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.42.{100 + i}.0/24", AvailabilityZone=az)["Subnet"][
            "SubnetId"
        ]
        ec2.create_tags(Resources=[sid], Tags=[{"Key": "Name", "Value": f"private-{az}"}])
        private.append(sid)

    zone = route53.create_hosted_zone(
        Name=zone_name,
        CallerReference=f"pypictl-seed-{time.time_ns()}",
        HostedZoneConfig={"Comment": "pypictl seed", "PrivateZone": False},
    )["HostedZone"]
    zone_id = zone["Id"].rsplit("/", 1)[-1]

    # Read back what the deploy will rely on, so a seed that did not take is caught here.
    for attr, key in (("enableDnsSupport", "EnableDnsSupport"), ("enableDnsHostnames", "EnableDnsHostnames")):
        if not ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=attr)[key]["Value"]:
            raise RuntimeError(f"{vpc_id}: {attr} is off after seeding")
    subnets = ec2.describe_subnets(SubnetIds=public + private)["Subnets"]
    if len({s["AvailabilityZone"] for s in subnets}) != 2:
        raise RuntimeError("seeded subnets are not spread over 2 AZs")

    return {
        "region": REGION,
        "vpc_id": vpc_id,
        "load_balancer_subnets": public,
        "asg_subnets": private,
        "zone_id": zone_id,
        "zone_name": zone_name,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoint", help="moto endpoint, e.g. http://127.0.0.1:5000")
    parser.add_argument("--zone-name", default="example.com")
    args = parser.parse_args()
    print(json.dumps(seed(args.endpoint, args.zone_name), indent=2))


if __name__ == "__main__":
    main()
