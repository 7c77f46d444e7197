"""Pure helpers that know Kubernetes rules (pod readiness, label selectors, Go durations); they never
talk to a cluster."""
