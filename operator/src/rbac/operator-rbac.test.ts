import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { operatorRbacYaml } from './operator-rbac.js';

describe('operator RBAC', () => {
  it('GIVEN operator/README.md THEN its RBAC block equals the rules in code (regenerate with bin/operator rbac --namespace alloy-system)', () => {
    const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
    const block = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBe(operatorRbacYaml('alloy-system'));
  });

  it('GIVEN the rules THEN the operator may manage every kind it renders and its status', () => {
    const yaml = operatorRbacYaml('ns');
    for (const r of ['statefulsets', 'configmaps', 'serviceaccounts', 'poddisruptionbudgets', 'clusterroles', 'collectors/status', 'leases', 'events']) {
      expect(yaml).toContain(`- ${r}`);
    }
  });
});
