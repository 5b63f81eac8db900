// The package's static parts: npm bin entries, the default config the .deb installs, the
// maintainer scripts' shell syntax and the control template.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultRegistry } from '../../collector/src/component/registry.js';
import { validateConfig } from '../../collector/src/runtime/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const deb = path.join(root, 'packaging/deb');

describe('package files', () => {
  it('package.json bin provides alloy and alloy-operator as executable scripts', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
    expect(pkg.bin).toEqual({ alloy: 'bin/alloy', 'alloy-operator': 'bin/operator' });
    for (const f of Object.values(pkg.bin)) expect(() => accessSync(path.join(root, f), constants.X_OK)).not.toThrow();
    expect(pkg.scripts['package']).toBe('npm run build && node packaging/build.mjs');
  });

  it('the default /etc/alloy/config.alloy validates cleanly', async () => {
    const text = readFileSync(path.join(deb, 'files/config.alloy'), 'utf8');
    expect((await validateConfig(new Map([['/etc/alloy/config.alloy', text]]), { registry: defaultRegistry() }))).toEqual([]);
  });

  it.each(['postinst', 'prerm', 'postrm'])('%s is valid POSIX sh and executable', (f) => {
    const p = path.join(deb, 'control', f);
    expect(() => accessSync(p, constants.X_OK)).not.toThrow();
    const r = spawnSync('sh', ['-n', p], { encoding: 'utf8' });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  });

  it('marks both files under /etc as conffiles and fills the control template', () => {
    expect(readFileSync(path.join(deb, 'control/conffiles'), 'utf8').trim().split('\n')).toEqual(['/etc/alloy/config.alloy', '/etc/default/alloy']);
    const control = readFileSync(path.join(deb, 'control/control.in'), 'utf8');
    for (const field of ['Package: alloy', 'Version: @VERSION@', 'Architecture: amd64', 'Installed-Size: @SIZE@', 'Depends: passwd']) expect(control).toContain(field);
  });
});
