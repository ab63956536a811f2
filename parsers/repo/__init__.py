"""Repository files: what a checkout says it will pull (Dockerfile, compose, Kubernetes, Helm values, shell,
and the CI systems under `ci/`)."""
