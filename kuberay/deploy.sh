#!/usr/bin/env bash
# Deploy one environment of kuberay/ to a cluster, or with --dry-run render + validate offline
# (and, given a kube-context, show what applying would change there: kubectl diff).
#   kuberay/deploy.sh <development|staging|production|base> [kube-context] [--dry-run]
set -euo pipefail

usage() { echo "usage: $0 <development|staging|production|base> [kube-context] [--dry-run]" >&2; exit 2; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
medinv="${MEDINV:-$repo/.venv/bin/medinv}"
env_name="" context="" dry_run=0
for arg in "$@"; do
  case "$arg" in
    --dry-run) dry_run=1 ;;
    -h|--help) usage ;;
    *) if [[ -z "$env_name" ]]; then env_name="$arg"; elif [[ -z "$context" ]]; then context="$arg"; else usage; fi ;;
  esac
done
case "$env_name" in
  base) dir="$here/base" ;;
  development|staging|production) dir="$here/overlays/$env_name" ;;
  *) usage ;;
esac

command -v kubectl >/dev/null || { echo "kubectl not found" >&2; exit 1; }

# Offline, always: the committed serveConfigV2 is current and every check passes.
"$medinv" kuberay-validate "$env_name"
manifest="$(mktemp)"
trap 'rm -f "$manifest"' EXIT
kubectl kustomize "$dir" >"$manifest"
# The committed production digests are placeholders (sha256:0…0) until a release sets them.
if grep -Eq '@sha256:0{64}' "$manifest"; then
  msg="placeholder image digests (sha256:0...0) in $env_name: set the pushed images' digests (docs/operations.md, Images by digest)"
  if (( ! dry_run )); then echo "$msg" >&2; exit 1; fi
  echo "warning: $msg" >&2
fi
kc=(kubectl)
[[ -n "$context" ]] && kc+=(--context "$context")
if (( dry_run )); then
  echo "dry run: $env_name renders to $(grep -c '^kind:' "$manifest") objects and passes every check"
  if [[ -n "$context" ]]; then
    # What an apply would change in that cluster (server-side, nothing is written). kubectl
    # diff exits 1 when there are differences: that is its answer, not a failure.
    status=0
    "${kc[@]}" diff --server-side --force-conflicts -f "$manifest" || status=$?
    (( status <= 1 )) || exit "$status"
  fi
  exit 0
fi

for crd in rayservices.ray.io rayclusters.ray.io; do
  "${kc[@]}" get crd "$crd" >/dev/null || {
    echo "CRD $crd missing: install the KubeRay operator (1.7) first" >&2; exit 1; }
done
if grep -q '^kind: PodMonitor' "$manifest"; then
  for crd in podmonitors.monitoring.coreos.com prometheusrules.monitoring.coreos.com; do
    "${kc[@]}" get crd "$crd" >/dev/null || {
      echo "CRD $crd missing: install kube-prometheus-stack first (kuberay/components/monitoring)" >&2
      exit 1; }
  done
fi
if grep -q '^kind: VerticalPodAutoscaler' "$manifest"; then
  "${kc[@]}" get crd verticalpodautoscalers.autoscaling.k8s.io >/dev/null || {
    echo "CRD verticalpodautoscalers.autoscaling.k8s.io missing: install the VPA first (kuberay/components/vpa)" >&2
    exit 1; }
fi
secrets=(postgres-credentials redis-credentials medinv-tls)
# Production's PostgreSQL: a CloudNativePG Cluster, backed up by the Barman Cloud plugin.
if grep -q '^apiVersion: postgresql.cnpg.io/v1' "$manifest"; then
  for crd in clusters.postgresql.cnpg.io scheduledbackups.postgresql.cnpg.io objectstores.barmancloud.cnpg.io; do
    "${kc[@]}" get crd "$crd" >/dev/null || {
      echo "CRD $crd missing: install the CloudNativePG operator (1.30) and its Barman Cloud plugin first (docs/operations.md, PostgreSQL high availability)" >&2
      exit 1; }
  done
  secrets+=(medinv-db-backup-credentials)
fi
for secret in "${secrets[@]}"; do
  "${kc[@]}" -n medical-inventory get secret "$secret" >/dev/null 2>&1 ||
    echo "warning: Secret $secret does not exist yet (kuberay/README.md, Secrets)" >&2
done
# Server-side apply: the RayService CRD object is too large for client-side apply's annotation.
# A Job's pod template is immutable: the previous migration run goes first.
"${kc[@]}" -n medical-inventory delete job inventory-migrate --ignore-not-found
"${kc[@]}" apply --server-side --field-manager=medinv-deploy -f "$manifest"
"${kc[@]}" -n medical-inventory wait job/inventory-migrate --for=condition=Complete --timeout=10m
"${kc[@]}" -n medical-inventory wait rayservice/medinv --for=condition=Ready --timeout=20m

cat <<MSG
RayService medinv is Ready. To reach it from this machine:
  API:            kubectl -n medical-inventory port-forward svc/medinv-serve-svc 8000:8000
  Ray dashboard:  kubectl -n medical-inventory port-forward svc/medinv-head-svc 8265:8265
  Grafana:        kubectl -n monitoring port-forward svc/prometheus-grafana 3000:80
MSG
