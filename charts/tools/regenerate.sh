#!/bin/sh
# Rewrites charts/alloy-golden/*.yaml, charts/alloy/README.md and the chart's CRD copy from the
# current chart (the same tests that otherwise fail on drift).
set -e
cd "$(dirname "$0")/../.."
UPDATE_GOLDEN=1 node --experimental-vm-modules node_modules/jest/bin/jest.js charts/tools/chart.test.ts
