// Import layering of the collector: the runtime and the layers below it know no concrete
// component; only entry points (cli, the operator, tests) import the component list. The
// foundation folders (clock/, protobuf/, transport/) depend on the platform only, outbound HTTP
// connections are opened by transport/ alone, and the protobuf wire format is written once.
// Test support (fakes, sinks, harnesses) lives in `*.test-support.ts` files beside the code they
// exercise; production code (collector/src and operator/src) never imports them and the build
// (tsconfig.build.json) does not take them as roots.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const src = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(src, '..', '..');
const PRODUCTION_ROOTS = [src, path.join(repoRoot, 'operator', 'src')];
const TEST_SUPPORT_SUFFIX = '.test-support.ts';
/** Every module specifier of a source: `from '...'`, `import('...')` and bare `import '...'`. */
function specifiersOf(text: string): string[] {
  return [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)'([^']+)'/gm)].map((m) => m[1]!);
}
/** The repo-relative files `roots` reach through relative imports: what tsc compiles from them. */
async function importClosure(roots: readonly string[]): Promise<string[]> {
  const seen = new Set<string>();
  const queue = roots.map((f) => path.resolve(f));
  while (queue.length > 0) {
    const f = queue.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    for (const spec of specifiersOf(await fs.readFile(f, 'utf8'))) {
      if (spec.startsWith('.') && spec.endsWith('.js')) queue.push(path.resolve(path.dirname(f), spec).replace(/\.js$/, '.ts'));
    }
  }
  return [...seen].map((f) => path.relative(repoRoot, f));
}

/** A module specifier, static or dynamic, that names a test-support module. */
const TEST_SUPPORT_IMPORT = /['"][^'"\n]*\.test-support(?:\.[jt]s)?['"]/;
const LOW_LAYERS = ['runtime', 'syntax', 'server', 'cluster', 'logging'];

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sourceFiles(p)));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

function importsOf(text: string): string[] {
  return [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm)].map((m) => m[1]!);
}

describe('collector layering', () => {
  it.each(LOW_LAYERS)('%s/ imports nothing from component/', async (layer) => {
    const offenders: string[] = [];
    for (const f of await sourceFiles(path.join(src, layer))) {
      for (const spec of importsOf(await fs.readFile(f, 'utf8'))) {
        if (!spec.startsWith('.')) continue;
        const target = path.resolve(path.dirname(f), spec);
        if (target.startsWith(path.join(src, 'component') + path.sep)) offenders.push(`${path.relative(src, f)} → ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('component/ imports nothing from the entry points (cli/, cli-kit/)', async () => {
    const offenders: string[] = [];
    for (const f of await sourceFiles(path.join(src, 'component'))) {
      for (const spec of importsOf(await fs.readFile(f, 'utf8'))) {
        if (!spec.startsWith('.')) continue;
        const target = path.resolve(path.dirname(f), spec);
        if (target.startsWith(path.join(src, 'cli') + path.sep) || target.startsWith(path.join(src, 'cli-kit') + path.sep)) offenders.push(`${path.relative(src, f)} → ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the import scan sees real imports (guards the regex)', () => {
    expect(importsOf("import { a } from './x.js';\nexport { b } from '../y.js';\nimport type { C } from 'z';\n")).toEqual(['./x.js', '../y.js', 'z']);
  });

  /** Where each foundation folder may import from, besides node built-ins and itself. */
  const FOUNDATIONS: Readonly<Record<string, readonly string[]>> = {
    clock: [],
    protobuf: [],
    transport: ['logging/redact.ts'],
  };

  it.each(Object.keys(FOUNDATIONS))('%s/ imports node built-ins, itself and its allowed modules only', async (layer) => {
    const offenders: string[] = [];
    for (const f of await sourceFiles(path.join(src, layer))) {
      for (const spec of importsOf(await fs.readFile(f, 'utf8'))) {
        if (spec.startsWith('node:')) continue;
        if (!spec.startsWith('.')) {
          offenders.push(`${path.relative(src, f)} → package ${spec}`);
          continue;
        }
        const target = path.relative(src, path.resolve(path.dirname(f), spec)).replace(/\.js$/, '.ts');
        if (target.startsWith(`${layer}/`) || FOUNDATIONS[layer]!.includes(target)) continue;
        offenders.push(`${path.relative(src, f)} → ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('loki/ does not depend on prom/remotewrite/', async () => {
    const offenders: string[] = [];
    for (const f of await sourceFiles(path.join(src, 'loki'))) {
      for (const spec of importsOf(await fs.readFile(f, 'utf8'))) {
        if (spec.startsWith('.') && path.resolve(path.dirname(f), spec).startsWith(path.join(src, 'prom', 'remotewrite') + path.sep)) offenders.push(`${path.relative(src, f)} → ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  /**
   * Outbound HTTP outside transport/, each with its reason: cluster gossip posts to peers' own
   * listeners (no TLS, proxy or auth settings exist for it), and so does `loki.source.kubernetes`'s
   * position handover (to the same peers' main servers); the lean config-reloader posts to its
   * collector on loopback; ui/ is browser code.
   */
  const OUTBOUND_ALLOWED = ['cluster/http-transport.ts', 'component/loki/source/kubernetes/handover.ts', 'reloader/reloader.ts', 'ui/client.ts'];
  const OUTBOUND = /\bnew https?\.Agent\(|\bhttps?\.request\(|\brequest as https?Request\b|method: 'CONNECT'|\bfetch\(\s*['`]/;

  it('only transport/ opens outbound HTTP connections', async () => {
    const offenders: string[] = [];
    for (const f of await sourceFiles(src)) {
      const rel = path.relative(src, f);
      if (rel.startsWith('transport/') || OUTBOUND_ALLOWED.includes(rel) || rel.endsWith(TEST_SUPPORT_SUFFIX)) continue;
      if (OUTBOUND.test(await fs.readFile(f, 'utf8'))) offenders.push(rel);
    }
    expect(offenders).toEqual([]);
  });

  /** Base-128 decoding outside protobuf/: snappy's length preamble, a 32-bit varint of its own format. */
  const VARINT_ALLOWED = ['prom/snappy/snappy.ts'];
  const HAND_VARINT = /\(\w+ & 0x7f\) \*|function readVarint\b|class ProtoWriter\b/;

  it('only protobuf/ decodes varints by hand', async () => {
    const offenders: string[] = [];
    for (const f of await sourceFiles(src)) {
      const rel = path.relative(src, f);
      if (rel.startsWith('protobuf/') || VARINT_ALLOWED.includes(rel)) continue;
      if (HAND_VARINT.test(await fs.readFile(f, 'utf8'))) offenders.push(rel);
    }
    expect(offenders).toEqual([]);
  });

  it('the outbound and varint scans see what they look for (guards the patterns)', () => {
    expect(OUTBOUND.test("const a = new https.Agent({});")).toBe(true);
    expect(OUTBOUND.test("mod.request(url)")).toBe(false);
    expect(OUTBOUND.test("http.request({ method: 'CONNECT' })")).toBe(true);
    expect(OUTBOUND.test("import { request as httpRequest } from 'node:http';")).toBe(true);
    expect(OUTBOUND.test("await client.fetch({ url })")).toBe(false);
    expect(HAND_VARINT.test('result += (b & 0x7f) * mul;')).toBe(true);
    expect(HAND_VARINT.test('return readVarint(this.buf, this.c, this.end);')).toBe(false);
  });

  describe('test support stays out of production', () => {
    it('no production module imports a *.test-support module', async () => {
      const offenders: string[] = [];
      for (const root of PRODUCTION_ROOTS) {
        for (const f of await sourceFiles(root)) {
          if (f.endsWith(TEST_SUPPORT_SUFFIX)) continue;
          if (TEST_SUPPORT_IMPORT.test(await fs.readFile(f, 'utf8'))) offenders.push(path.relative(repoRoot, f));
        }
      }
      expect(offenders).toEqual([]);
    });

    it('test support follows the *.test-support.ts convention (no testing.ts, testing/ or test-support/ left)', async () => {
      const offenders: string[] = [];
      for (const root of PRODUCTION_ROOTS) {
        for (const f of await sourceFiles(root)) {
          const rel = path.relative(repoRoot, f);
          const dirs = path.dirname(rel).split(path.sep);
          if (path.basename(f) === 'testing.ts' || dirs.includes('testing') || dirs.includes('test-support') || (path.basename(f).startsWith('fake-') && !f.endsWith(TEST_SUPPORT_SUFFIX))) offenders.push(rel);
        }
      }
      expect(offenders).toEqual([]);
    });

    it('the build (tsconfig.build.json) takes no test or test-support file as a root', () => {
      const configPath = path.join(repoRoot, 'tsconfig.build.json');
      const read = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
      expect(read.error).toBeUndefined();
      const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, repoRoot, undefined, configPath);
      expect(parsed.errors).toEqual([]);
      const roots = parsed.fileNames.map((f) => path.relative(repoRoot, f));
      expect(roots).toContain(path.join('collector', 'src', 'cli', 'main.ts'));
      expect(roots.filter((f) => f.endsWith(TEST_SUPPORT_SUFFIX) || f.endsWith('.test.ts') || f.startsWith(`bench${path.sep}`))).toEqual([]);
    });

    it('the build output (every module tsconfig.build.json compiles, imports followed) contains no test support', async () => {
      const configPath = path.join(repoRoot, 'tsconfig.build.json');
      const parsed = ts.parseJsonConfigFileContent(ts.readConfigFile(configPath, (p) => ts.sys.readFile(p)).config, ts.sys, repoRoot, undefined, configPath);
      const compiled = await importClosure(parsed.fileNames);
      expect(compiled.length).toBeGreaterThanOrEqual(parsed.fileNames.length);
      expect(compiled.filter((f) => f.endsWith(TEST_SUPPORT_SUFFIX) || f.endsWith('.test.ts'))).toEqual([]);
    });

    it('the closure walk follows imports (guards the build-output check)', async () => {
      const fromBench = await importClosure([path.join(repoRoot, 'bench', 'logs-pipeline.ts')]);
      expect(fromBench).toContain(path.join('collector', 'src', 'loki', 'loki.test-support.ts'));
    });

    it('the test-support scan sees static and dynamic imports (guards the pattern)', () => {
      expect(TEST_SUPPORT_IMPORT.test("import { LokiSink } from '../loki/loki.test-support.js';")).toBe(true);
      expect(TEST_SUPPORT_IMPORT.test("const m = await import('./fake-kube-api.test-support.js');")).toBe(true);
      expect(TEST_SUPPORT_IMPORT.test("import { x } from './support.js';")).toBe(false);
      expect(specifiersOf("import a from './a.js';\nimport './side.js';\nconst b = await import('../b.js');\nexport * from './c.js';")).toEqual(['./a.js', './side.js', '../b.js', './c.js']);
    });
  });
});
