"""Google Cloud components (pulumi-gcp). Imported only when the target cloud is gcp."""
