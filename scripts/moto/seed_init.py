#!/usr/bin/env python3
"""Seeds a moto server for `pypictl init`'s tests: seed.py's account plus what the wizard must explain.

    .tools/moto/bin/python scripts/moto/seed_init.py http://127.0.0.1:PORT

On top of seed.py's good VPC ("pypictl-seed"), creates in us-east-1:
  - VPC "bad-dns" (10.43.0.0/16): DNS support on, DNS hostnames OFF, subnets in 2 AZs, an internet gateway;
  - VPC "bad-one-az" (10.44.0.0/16): DNS on, two subnets both in us-east-1a;
  - a private hosted zone "internal.example" associated with the good VPC.
and prints seed.py's JSON object with "bad_dns_vpc_id", "one_az_vpc_id", "private_zone_id" added.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seed  # noqa: E402  (the sibling script)


def vpc(ec2, name: str, cidr: str, hostnames: bool, azs) -> str:
    vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": hostnames})
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": name}])
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    prefix = cidr.rsplit(".", 2)[0]
    for i, az in enumerate(azs):
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"{prefix}.{i}.0/24", AvailabilityZone=az)
    return vpc_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoint", help="moto endpoint, e.g. http://127.0.0.1:5000")
    args = parser.parse_args()
    out = seed.seed(args.endpoint)
    ec2 = seed.client("ec2", args.endpoint)
    route53 = seed.client("route53", args.endpoint)
    out["bad_dns_vpc_id"] = vpc(ec2, "bad-dns", "10.43.0.0/16", False, seed.AZS)
    out["one_az_vpc_id"] = vpc(ec2, "bad-one-az", "10.44.0.0/16", True, (seed.AZS[0], seed.AZS[0]))
    zone = route53.create_hosted_zone(
        Name="internal.example",
        CallerReference=f"pypictl-seed-init-{time.time_ns()}",
        HostedZoneConfig={"Comment": "pypictl init test", "PrivateZone": True},
        VPC={"VPCRegion": seed.REGION, "VPCId": out["vpc_id"]},
    )["HostedZone"]
    out["private_zone_id"] = zone["Id"].rsplit("/", 1)[-1]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
