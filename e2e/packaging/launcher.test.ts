// bin/alloy's and bin/operator's choice between their bundles (dist/bundle/, dist/bundle/operator/)
// and the modules in dist/: a bundle runs only while every dist/ file it was built from is
// unchanged, and ALLOY_TS_FORM forces a form.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface BundleForm {
  bundleIsCurrent(root: string, fsApi: typeof fs, dir?: string): boolean;
}

const { bundleIsCurrent } = (await import(pathToFileURL(path.join(root, 'bin/bundle-form.mjs')).href)) as BundleForm;

describe('bin/alloy form selection', () => {
  let dir: string;
  beforeEach(() => {
    dir = `${fs.mkdtempSync(path.join(os.tmpdir(), 'launcher-'))}${path.sep}`;
    fs.mkdirSync(path.join(dir, 'dist/bundle'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'dist/collector'), { recursive: true });
    for (const f of ['a.js', 'b.js']) fs.writeFileSync(path.join(dir, 'dist/collector', f), `export const ${f[0]} = 1;\n`);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const record = (): void => {
    const files = ['dist/collector/a.js', 'dist/collector/b.js'].map((rel) => {
      const st = fs.statSync(dir + rel);
      return [rel, st.size, Math.floor(st.mtimeMs)];
    });
    fs.writeFileSync(path.join(dir, 'dist/bundle/inputs.json'), JSON.stringify({ files }));
  };

  it('is current while every input keeps its size and mtime', () => {
    record();
    expect(bundleIsCurrent(dir, fs)).toBe(true);
  });

  it('is stale once tsc rewrites an input (new mtime), even with the same size', () => {
    record();
    const later = new Date(Date.now() + 5_000);
    fs.utimesSync(path.join(dir, 'dist/collector/a.js'), later, later);
    expect(bundleIsCurrent(dir, fs)).toBe(false);
  });

  it('is stale when an input changed size or is gone', () => {
    record();
    const st = fs.statSync(path.join(dir, 'dist/collector/b.js'));
    fs.writeFileSync(path.join(dir, 'dist/collector/b.js'), 'export const b = 22;\n');
    fs.utimesSync(path.join(dir, 'dist/collector/b.js'), st.atime, st.mtime);
    expect(bundleIsCurrent(dir, fs)).toBe(false);
    record();
    fs.rmSync(path.join(dir, 'dist/collector/a.js'));
    expect(bundleIsCurrent(dir, fs)).toBe(false);
  });

  it('is not current without inputs.json, or with an empty or malformed one', () => {
    expect(bundleIsCurrent(dir, fs)).toBe(false);
    fs.writeFileSync(path.join(dir, 'dist/bundle/inputs.json'), JSON.stringify({ files: [] }));
    expect(bundleIsCurrent(dir, fs)).toBe(false);
    fs.writeFileSync(path.join(dir, 'dist/bundle/inputs.json'), '{"files": ');
    expect(bundleIsCurrent(dir, fs)).toBe(false);
  });

  it("reads the operator's bundle from its own folder", () => {
    record();
    fs.mkdirSync(path.join(dir, 'dist/bundle/operator'), { recursive: true });
    expect(bundleIsCurrent(dir, fs, 'dist/bundle/operator')).toBe(false);
    fs.copyFileSync(path.join(dir, 'dist/bundle/inputs.json'), path.join(dir, 'dist/bundle/operator/inputs.json'));
    expect(bundleIsCurrent(dir, fs, 'dist/bundle/operator')).toBe(true);
    fs.rmSync(path.join(dir, 'dist/bundle/inputs.json'));
    expect(bundleIsCurrent(dir, fs)).toBe(false);
    expect(bundleIsCurrent(dir, fs, 'dist/bundle/operator')).toBe(true);
  });

  it('rejects an unknown ALLOY_TS_FORM with the values it accepts', () => {
    const r = spawnSync(process.execPath, [path.join(root, 'bin/alloy'), '--version'], { encoding: 'utf8', env: { ...process.env, ALLOY_TS_FORM: 'esm' } });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 1, stderr: 'alloy: ALLOY_TS_FORM must be "dist" or "bundle", not "esm"\n' });
    const o = spawnSync(process.execPath, [path.join(root, 'bin/operator'), 'crd'], { encoding: 'utf8', env: { ...process.env, ALLOY_TS_FORM: 'esm' } });
    expect({ status: o.status, stderr: o.stderr }).toEqual({ status: 1, stderr: 'operator: ALLOY_TS_FORM must be "dist" or "bundle", not "esm"\n' });
  });

  // Needs `npm run build` (which ends with packaging/bundle.mjs); CI runs the suite after it.
  const built = bundleIsCurrent(`${root}${path.sep}`, fs);
  (built || process.env['CI'] === 'true' ? it : it.skip)('both forms of the built checkout run the same CLI', () => {
    expect(built).toBe(true);
    const run = (form: string): { status: number | null; stdout: string } => {
      const r = spawnSync(process.execPath, [path.join(root, 'bin/alloy'), '--version'], { encoding: 'utf8', env: { ...process.env, ALLOY_TS_FORM: form } });
      return { status: r.status, stdout: r.stdout };
    };
    const dist = run('dist');
    expect(dist.status).toBe(0);
    expect(dist.stdout).toMatch(/^alloy, version v\d+\.\d+\.\d+/);
    expect(run('bundle')).toEqual(dist);
  });

  const operatorBuilt = bundleIsCurrent(`${root}${path.sep}`, fs, 'dist/bundle/operator');
  (operatorBuilt || process.env['CI'] === 'true' ? it : it.skip)('both forms of the built checkout run the same operator', () => {
    expect(operatorBuilt).toBe(true);
    const run = (form: string, args: string[]): { status: number | null; stdout: string; stderr: string } => {
      const r = spawnSync(process.execPath, [path.join(root, 'bin/operator'), ...args], { encoding: 'utf8', env: { ...process.env, ALLOY_TS_FORM: form } });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    for (const args of [['crd'], ['rbac', '--namespace=monitoring'], ['run', '--no-such-flag']]) {
      const dist = run('dist', args);
      expect(dist.status).toBe(args[0] === 'run' ? 2 : 0);
      expect(run('bundle', args)).toEqual(dist);
    }
    // The bundle carries the package version (User-Agent, default collector image tag) as a constant:
    // no file of it still looks for the define, and one holds the version package.json has.
    const version = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
    expect(run('bundle', ['--help']).stdout).toContain('--image IMAGE');
    const dir = path.join(root, 'dist/bundle/operator');
    const texts = [path.join(dir, 'operator.js'), ...fs.readdirSync(path.join(dir, 'chunks')).map((f) => path.join(dir, 'chunks', f))].map((f) => fs.readFileSync(f, 'utf8'));
    expect(texts.filter((t) => t.includes('__ALLOY_TS_VERSION__'))).toEqual([]);
    expect(texts.some((t) => t.includes('packageVersion') && t.includes(JSON.stringify(version)))).toBe(true);
  });
});
