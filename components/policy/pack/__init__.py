"""The llmcloud rules as a Pulumi policy pack, for the real engine."""
