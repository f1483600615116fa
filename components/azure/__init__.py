"""Azure components (pulumi-azure-native). Imported only when the target cloud is azure.

`checks` is pure Python (no SDK): `resolve`/`validate` may import it without loading pulumi-azure-native.
"""
