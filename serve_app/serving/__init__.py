"""The Ray Serve application: the deployments, the application builder, the handles."""
