#!/bin/sh
# Re-renders overlays/helm-collector/alloy.yaml from charts/alloy and refreshes the CRD copy in
# base/. e2e/kustomize checks both for drift.
set -e
cd "$(dirname "$0")/.."
{
  echo "# Rendered by kustomize/regenerate.sh: bin/helm-template alloy charts/alloy --namespace monitoring --include-crds -f kustomize/overlays/helm-collector/values.yaml"
  bin/helm-template alloy charts/alloy --namespace monitoring --include-crds -f kustomize/overlays/helm-collector/values.yaml
} > kustomize/overlays/helm-collector/alloy.yaml
cp crds/collectors.alloy.dev.yaml kustomize/base/collectors.alloy.dev.yaml
