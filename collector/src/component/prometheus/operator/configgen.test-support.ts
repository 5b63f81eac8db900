/**
 * Generator options for the job generation tests: the component `rule`
 * `{target_label = "__meta_foo", replacement = "bar"}` that Alloy's configgen tests put first, the
 * given default interval/timeout, and Secrets/ConfigMaps served from a fixed map
 * (`operator/creds`: user, pass, token; every ConfigMap key reads `CA PEM`).
 */
import { withDefaults, type RelabelConfig } from '../../../prom/relabel/relabel.js';
import type { GeneratorOptions } from './configgen.js';

export const rc = (r: Partial<RelabelConfig>): RelabelConfig => withDefaults(r);

const secrets: Record<string, Record<string, string>> = { 'operator/creds': { user: 'alice', pass: 's3cret', token: 'tok' } };

export function generatorOptions(defaults: { readonly intervalMs: number; readonly timeoutMs: number }, extra: Partial<GeneratorOptions> = {}): GeneratorOptions {
  return {
    rules: [rc({ target_label: '__meta_foo', replacement: 'bar' })],
    scrape: { default_scrape_interval: defaults.intervalMs, default_scrape_timeout: defaults.timeoutMs, default_sample_limit: 0, scrape_native_histograms: false, honor_metadata: false, enable_type_and_unit_labels: undefined },
    scrapeClasses: [],
    secrets: {
      secret: async (ns, sel) => {
        const v = secrets[`${ns}/${sel.name}`]?.[sel.key];
        if (v === undefined) throw new Error(`key ${JSON.stringify(sel.key)} not found in secret ${ns}/${sel.name}`);
        return v;
      },
      configMap: async () => 'CA PEM',
    },
    ...extra,
  };
}
