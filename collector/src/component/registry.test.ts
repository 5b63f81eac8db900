// The shipped component list: every line loads the module that defines the component it names,
// and a configuration loads only the components it uses.
import { ComponentRegistry } from '../runtime/registry.js';
import { validateConfig } from '../runtime/validate.js';
import { COMPONENTS } from './all.js';

describe('component/all.ts', () => {
  it('names each component once, sorted, and each module defines the component on its line', async () => {
    const names = COMPONENTS.map((c) => c.name);
    expect(names).toEqual([...names].sort());
    expect(new Set(names).size).toBe(names.length);
    const reg = await new ComponentRegistry(COMPONENTS).ensureAll();
    for (const name of names) expect(reg.get(name)?.name).toBe(name);
  });

  it('a config loads the modules of the components it names, not the others', async () => {
    const reg = new ComponentRegistry(COMPONENTS);
    const diags = await validateConfig(
      new Map([
        [
          'main.alloy',
          'prometheus.scrape "s" {\n  targets    = [{"__address__" = "127.0.0.1:9100"}]\n  forward_to = [prometheus.remote_write.rw.receiver]\n}\n' +
            'prometheus.remote_write "rw" {\n  endpoint {\n    url = "http://127.0.0.1:9009/api/v1/push"\n  }\n}\n',
        ],
      ]),
      { registry: reg },
    );
    expect(diags).toEqual([]);
    expect(COMPONENTS.map((c) => c.name).filter((n) => !reg.isPending(n))).toEqual(['prometheus.remote_write', 'prometheus.scrape']);
  });
});
