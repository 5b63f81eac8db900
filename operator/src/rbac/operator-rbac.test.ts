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

  it('GIVEN the operator rules THEN no escalate, bind, impersonate or wildcard, and every grantable collector rule is held (the API server checks it)', async () => {
    const { OPERATOR_CLUSTER_RULES } = await import('./operator-rbac.js');
    const { grantableRules } = await import('./collector-access.js');
    for (const r of OPERATOR_CLUSTER_RULES) {
      expect(r.verbs.filter((v) => ['escalate', 'bind', 'impersonate', '*'].includes(v))).toStrictEqual([]);
      expect(r.resources ?? []).not.toContain('*');
      expect(r.apiGroups ?? []).not.toContain('*');
    }
    const held = new Set(OPERATOR_CLUSTER_RULES.flatMap((r) => (r.resources ?? []).flatMap((res) => r.verbs.map((v) => `${r.apiGroups?.[0]}|${res}|${v}`))));
    for (const r of grantableRules()) for (const res of r.resources) for (const v of r.verbs) expect(held).toContain(`${r.apiGroups[0]}|${res}|${v}`);
  });
});
