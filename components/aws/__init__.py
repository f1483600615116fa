"""AWS components (pulumi-aws, no pulumi-eks). Imported only when the target cloud is aws.

Only `checks` may be imported by cloud-neutral code (it is pure Python); every other module here
imports pulumi_aws at the top.
"""
