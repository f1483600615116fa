"""Cloud-neutral Kubernetes parts (pulumi-kubernetes), fed by each cloud's cluster through a provider."""
