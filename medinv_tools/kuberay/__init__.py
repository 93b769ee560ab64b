"""KubeRay deployment: serveConfigV2 generation and offline validation of kuberay/."""
