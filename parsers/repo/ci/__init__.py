"""CI pipeline definitions: GitHub Actions, GitLab CI, Jenkinsfile, CircleCI, Azure Pipelines, Bitbucket
Pipelines, Drone and Woodpecker. `ci_yaml` holds what the YAML-based ones share."""
