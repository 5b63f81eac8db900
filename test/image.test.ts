/**
 * The Dockerfile agrees with what the chart and the operator expect of the image (no Docker engine
 * runs here, so this is the image's contract test): user alloy 473:473 by default, entrypoint
 * /bin/alloy plus /bin/operator, config at /etc/alloy/config.alloy, data at /var/lib/alloy/data,
 * built by `npm run build`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ALLOY_UID, CONFIG_DIR, CONFIG_KEY, DATA_DIR, DEFAULT_IMAGE_REPOSITORY, HTTP_PORT } from '../operator/src/render/labels.js';

const ROOT = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..');

interface Instruction {
  readonly op: string;
  readonly args: string;
  readonly stage: number;
}

/** Dockerfile instructions with line continuations joined and comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  let buf = '';
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw)) continue;
    const line = raw.replace(/\\\s*$/, '');
    buf += (buf ? ' ' : '') + line.trim();
    if (/\\\s*$/.test(raw)) continue;
    const m = /^(\w+)\s+(.*)$/.exec(buf.trim());
    buf = '';
    if (!m) continue;
    const op = m[1]!.toUpperCase();
    if (op === 'FROM') stage++;
    out.push({ op, args: m[2]!.trim(), stage });
  }
  return out;
}

const dockerfile = parseDockerfile(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
const finalStage = Math.max(...dockerfile.map((i) => i.stage));
const final = dockerfile.filter((i) => i.stage === finalStage);
const jsonArgs = (op: string): string[] => JSON.parse(final.filter((i) => i.op === op).at(-1)!.args) as string[];
const values = parse(fs.readFileSync(path.join(ROOT, 'charts/alloy/values.yaml'), 'utf8')) as {
  image: { registry: string; repository: string };
  alloy: { storagePath: string; listenPort: number };
};
const chartYaml = parse(fs.readFileSync(path.join(ROOT, 'charts/alloy/Chart.yaml'), 'utf8')) as { appVersion: string };

describe('Dockerfile', () => {
  test('the default user is alloy with UID/GID 473, matching the chart and operator security defaults', () => {
    const run = final.filter((i) => i.op === 'RUN').map((i) => i.args).join(' && ');
    expect(run).toMatch(/groupadd[^&]*--gid 473 alloy/);
    expect(run).toMatch(/useradd[^&]*--uid 473 --gid 473[^&]* alloy/);
    expect(final.filter((i) => i.op === 'USER').at(-1)!.args).toMatch(/^(alloy|473)(:(alloy|473))?$/);
    expect(ALLOY_UID).toBe(473);
    const helpers = fs.readFileSync(path.join(ROOT, 'charts/alloy/templates/_helpers.tpl'), 'utf8');
    expect(helpers).toMatch(/runAsUser: 473\nrunAsGroup: 473\nfsGroup: 473/);
  });

  test('ENTRYPOINT is /bin/alloy and /bin/operator exists, as the chart and operator run them', () => {
    expect(jsonArgs('ENTRYPOINT')).toStrictEqual(['/bin/alloy']);
    const run = final.filter((i) => i.op === 'RUN').map((i) => i.args).join(' ');
    expect(run).toContain('ln -s /opt/alloy/bin/alloy /bin/alloy');
    expect(run).toContain('ln -s /opt/alloy/bin/operator /bin/operator');
    const copy = final.filter((i) => i.op === 'COPY').map((i) => i.args);
    // bin/alloy imports bin/bundle-form.mjs to choose between dist/bundle/ and dist/.
    expect(copy).toContain('bin/alloy bin/bundle-form.mjs bin/operator ./bin/');
    const reloader = fs.readFileSync(path.join(ROOT, 'charts/alloy/templates/containers/_config-reloader.yaml'), 'utf8');
    expect(reloader).toMatch(/command:\n\s+- \/bin\/alloy\n\s+args:\n\s+- config-reloader\n\s+- --volume-dir=\/etc\/alloy/);
    const op = fs.readFileSync(path.join(ROOT, 'charts/alloy/templates/operator/deployment.yaml'), 'utf8');
    expect(op).toMatch(/command:\n\s+- \/bin\/operator/);
  });

  test('config lives at /etc/alloy/config.alloy and data at /var/lib/alloy/data, owned by alloy', () => {
    expect(`${CONFIG_DIR}/${CONFIG_KEY}`).toBe('/etc/alloy/config.alloy');
    expect(DATA_DIR).toBe('/var/lib/alloy/data');
    const cmd = jsonArgs('CMD');
    expect(cmd).toStrictEqual(['run', `${CONFIG_DIR}/${CONFIG_KEY}`, `--storage.path=${DATA_DIR}`, `--server.http.listen-addr=0.0.0.0:${HTTP_PORT}`]);
    expect(values.alloy.storagePath).toBe(DATA_DIR);
    expect(values.alloy.listenPort).toBe(HTTP_PORT);
    const run = final.filter((i) => i.op === 'RUN').map((i) => i.args).join(' ');
    expect(run).toContain('mkdir -p /etc/alloy /var/lib/alloy/data');
    expect(run).toContain('chown -R 473:473 /var/lib/alloy');
    expect(final.some((i) => i.op === 'COPY' && i.args.endsWith(' /etc/alloy/config.alloy'))).toBe(true);
  });

  test('the image name and default tag agree across chart, operator and package.json', () => {
    expect(`${values.image.registry}/${values.image.repository}`).toBe(DEFAULT_IMAGE_REPOSITORY);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(chartYaml.appVersion).toBe(pkg.version);
  });

  test('it is built from the same `npm run build`, and every COPY source outside the build output exists', () => {
    const build = dockerfile.filter((i) => i.stage < finalStage);
    expect(build.some((i) => i.op === 'RUN' && i.args.includes('npm run build'))).toBe(true);
    // `npm run build` ends with packaging/bundle.mjs, so the build stage needs that folder.
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['build']).toContain('node packaging/bundle.mjs');
    expect(build.some((i) => i.op === 'COPY' && i.args === 'packaging ./packaging')).toBe(true);
    for (const i of dockerfile.filter((x) => x.op === 'COPY' && !x.args.startsWith('--from'))) {
      const sources = i.args.split(/\s+/).slice(0, -1);
      for (const s of sources) expect({ source: s, exists: fs.existsSync(path.join(ROOT, s)) }).toStrictEqual({ source: s, exists: true });
    }
  });

  test('.dockerignore keeps dependencies, outputs and caches out of the build context', () => {
    const ignore = fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    expect(ignore).toEqual(expect.arrayContaining(['node_modules', 'dist', '.local', '.git']));
  });
});
