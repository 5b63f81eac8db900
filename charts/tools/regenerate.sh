#!/bin/sh
# Rewrites every generated file of the chart and the Kustomize tree from their sources:
# charts/alloy-golden/*.yaml, charts/alloy/README.md, charts/alloy/files/{collectors.alloy.dev,
# operator-rbac}.yaml, kustomize/base/{collectors.alloy.dev,rbac}.yaml and
# kustomize/overlays/helm-collector/alloy.yaml (the same tests otherwise fail on drift).
set -e
cd "$(dirname "$0")/../.."
JEST="node --experimental-vm-modules node_modules/jest/bin/jest.js"
UPDATE_GOLDEN=1 $JEST charts/tools/chart.test.ts
sh kustomize/regenerate.sh
UPDATE_GOLDEN=1 $JEST e2e/kustomize/kustomize.e2e.ts -t 'copies have not drifted'
