// The Linux host procedure of the docs, on the real package: `npm run package` builds the
// standalone executable and the .deb; dpkg installs it (files, owners, modes, conffiles, user,
// enabled unit); the service is started exactly as its unit says (systemd is not PID 1 here:
// EnvironmentFile parsed with systemd's rules, ExecStart expanded, run as User/Group in
// WorkingDirectory); CUSTOM_ARGS and a SIGHUP reload of /etc/alloy/config.alloy are honoured;
// data lands only under /var/lib/alloy/data; dpkg -r and -P leave what Debian policy says. The
// standalone executable runs the docs' proxy config with no node on PATH.
// Needs root (dpkg -i changes the machine) and dpkg-deb, systemd-analyze, setpriv: under CI=true
// their absence fails the test.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeLabels, WriteRequestEncoder } from '../../collector/src/prom/remotewrite/proto.js';
import { compress } from '../../collector/src/prom/snappy/snappy.js';
import { freePort, httpOk, requireTool, root, Sink, spawnProc, stopAll, until, type Proc } from '../metrics/harness.js';
import { expandExecStart, parseEnvironment, parseEnvironmentFile, parseUnit, serviceValue } from './systemd-unit.js';

const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
const deb = path.join(root, `dist/packages/alloy_${version}_amd64.deb`);
const exe = path.join(root, 'dist/packages/alloy-linux-amd64');
const UNIT = '/usr/lib/systemd/system/alloy.service';

function isRoot(): boolean {
  if (process.getuid?.() === 0) return true;
  const msg = 'the .deb journey installs a package system-wide and needs root';
  if (process.env['CI'] === 'true') throw new Error(`${msg} (CI=true: run the suite as root, as CI does)`);
  console.warn(`SKIP: ${msg}`);
  return false;
}

const tools = ['/usr/bin/dpkg-deb', '/usr/bin/systemd-analyze', '/usr/bin/setpriv'];
const ready = isRoot() && tools.every((t) => requireTool(t, 'the .deb journey (apt-get install dpkg systemd util-linux)') !== undefined);
const maybe = ready ? describe : describe.skip;

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function mode(p: string): string {
  return (statSync(p).mode & 0o7777).toString(8);
}

function owner(p: string): string {
  const st = statSync(p);
  const name = (id: number, db: string): string => run('getent', [db, String(id)]).split(':')[0]!;
  return `${name(st.uid, 'passwd')}:${name(st.gid, 'group')}`;
}

function packageStatus(): string {
  const r = spawnSync('dpkg-query', ['-W', '-f=${db:Status-Abbrev}', 'alloy'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'not-installed';
}

function purgeIfPresent(): void {
  if (packageStatus() !== 'not-installed') run('dpkg', ['-P', 'alloy']);
}

/** Sets one variable of /etc/default/alloy the way a user edits it (the line is replaced). */
function setDefault(key: string, value: string): void {
  const f = '/etc/default/alloy';
  const text = readFileSync(f, 'utf8');
  const re = new RegExp(`^${key}=.*$`, 'm');
  if (!re.test(text)) throw new Error(`${f} has no ${key}= line`);
  writeFileSync(f, text.replace(re, `${key}="${value}"`));
}

interface Service {
  readonly proc: Proc;
  readonly argv: readonly string[];
}

/** Starts alloy.service as systemd would: its user and group, directory, environment and ExecStart. */
function startService(): Service {
  const unit = parseUnit(readFileSync(UNIT, 'utf8'));
  const fileEnv = parseEnvironmentFile(readFileSync(serviceValue(unit, 'EnvironmentFile')!, 'utf8'));
  const env = new Map([...parseEnvironment(unit.service.get('Environment') ?? [], os.hostname()), ...fileEnv]);
  const argv = expandExecStart(serviceValue(unit, 'ExecStart')!, env);
  const user = serviceValue(unit, 'User')!;
  const group = serviceValue(unit, 'Group') ?? user;
  // systemd's default PATH for services, with nothing inherited from this test process.
  const envArgs = ['-i', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...[...env].map(([k, v]) => `${k}=${v}`)];
  const proc = spawnProc('alloy.service', '/usr/bin/setpriv', [`--reuid=${user}`, `--regid=${group}`, '--init-groups', '--', '/usr/bin/env', `--chdir=${serviceValue(unit, 'WorkingDirectory')!}`, ...envArgs, ...argv]);
  return { proc, argv };
}

async function waitReady(base: string, svc: Service): Promise<void> {
  await until(() => `alloy.service ready at ${base}:\n${svc.proc.output()}`, async () => {
    if (svc.proc.proc.exitCode !== null) throw new Error(`alloy.service exited ${svc.proc.proc.exitCode}:\n${svc.proc.output()}`);
    return httpOk(`${base}/-/ready`);
  }, 30_000);
}

/** The collector's pid: setpriv and env exec into it, so it is the spawned process itself. */
function collectorPid(svc: Service): number {
  return svc.proc.proc.pid!;
}

function procStatus(pid: number, key: string): string {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${key}:`));
  return line!.split(/\s+/)[1]!;
}

/** Every path under /var/lib/alloy outside data/ (WorkingDirectory must stay clean). */
function outsideData(): string[] {
  return readdirSync('/var/lib/alloy').filter((n) => n !== 'data');
}

maybe('Debian package and systemd unit (docs: Configure Grafana Alloy on Linux)', () => {
  let sink: Sink;
  let svc: Service | undefined;

  beforeAll(() => {
    run(process.execPath, [path.join(root, 'packaging/build.mjs')]);
    purgeIfPresent();
  }, 300_000);

  beforeAll(async () => {
    sink = new Sink();
    await sink.start();
  });

  afterAll(async () => {
    await stopAll();
    await sink.stop();
    purgeIfPresent();
  });

  it('installs the executable, config, defaults and unit with owners, modes, conffiles and an enabled unit', () => {
    run('dpkg', ['-i', deb]);
    expect(packageStatus()).toBe('ii');

    expect([owner('/usr/bin/alloy'), mode('/usr/bin/alloy')]).toEqual(['root:root', '755']);
    expect(run('/usr/bin/alloy', ['--version'])).toContain(`version v${version}`);
    expect([owner('/etc/alloy'), mode('/etc/alloy')]).toEqual(['root:alloy', '770']);
    expect([owner('/etc/alloy/config.alloy'), mode('/etc/alloy/config.alloy')]).toEqual(['root:alloy', '640']);
    expect([owner('/etc/default/alloy'), mode('/etc/default/alloy')]).toEqual(['root:root', '644']);
    expect(readFileSync('/etc/default/alloy', 'utf8')).toBe(readFileSync(path.join(root, 'packaging/deb/files/default'), 'utf8'));
    expect([owner(UNIT), mode(UNIT)]).toEqual(['root:root', '644']);
    for (const d of ['/var/lib/alloy', '/var/lib/alloy/data']) expect([d, owner(d), mode(d)]).toEqual([d, 'alloy:alloy', '770']);

    const conffiles = run('dpkg-query', ['-W', '-f=${Conffiles}', 'alloy']);
    expect(conffiles).toMatch(/^ \/etc\/alloy\/config\.alloy [0-9a-f]{32}$/m);
    expect(conffiles).toMatch(/^ \/etc\/default\/alloy [0-9a-f]{32}$/m);

    const [name, , uid, , , home, shell] = run('getent', ['passwd', 'alloy']).trim().split(':');
    expect([name, home, shell]).toEqual(['alloy', '/var/lib/alloy', '/usr/sbin/nologin']);
    expect(Number(uid)).toBeLessThan(1000);

    const wants = '/etc/systemd/system/multi-user.target.wants/alloy.service';
    expect(lstatSync(wants).isSymbolicLink()).toBe(true);
    expect(path.basename(readlinkSync(wants))).toBe('alloy.service');

    const verify = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
    expect({ status: verify.status, out: (verify.stdout + verify.stderr).split('\n').filter((l) => l.includes('alloy')) }).toEqual({ status: 0, out: [] });
  });

  it('starts as the unit says, as user alloy in /var/lib/alloy, and honours a CUSTOM_ARGS change after restart', async () => {
    const first = await freePort();
    setDefault('CUSTOM_ARGS', `--server.http.listen-addr=127.0.0.1:${first}`);
    svc = startService();
    expect(svc.argv).toEqual(['/usr/bin/alloy', 'run', `--server.http.listen-addr=127.0.0.1:${first}`, '--storage.path=/var/lib/alloy/data', '/etc/alloy/config.alloy']);
    await waitReady(`http://127.0.0.1:${first}`, svc);
    const pid = collectorPid(svc);
    const alloyUid = run('id', ['-u', 'alloy']).trim();
    expect(procStatus(pid, 'Uid')).toBe(alloyUid);
    expect(readlinkSync(`/proc/${pid}/cwd`)).toBe('/var/lib/alloy');
    expect(readlinkSync(`/proc/${pid}/exe`)).toBe('/usr/bin/alloy');

    // The docs' example flag, on a port free here (12346 when it is).
    const second = (await httpOk('http://127.0.0.1:12346/-/ready')) ? await freePort() : 12346;
    setDefault('CUSTOM_ARGS', `--server.http.listen-addr=127.0.0.1:${second}`);
    await svc.proc.stop(); // systemctl restart alloy: stop, then start with the edited file
    svc = startService();
    await waitReady(`http://127.0.0.1:${second}`, svc);
    expect(await httpOk(`http://127.0.0.1:${first}/-/ready`)).toBe(false);
  }, 90_000);

  it('reloads an edited /etc/alloy/config.alloy on ExecReload (SIGHUP) and writes data only under /var/lib/alloy/data', async () => {
    const base = /--server\.http\.listen-addr=(\S+)/.exec(svc!.argv.join(' '))![1]!;
    const before = outsideData();
    const hash = async (): Promise<string | undefined> => /alloy_config_hash\{sha256="(\w+)"\} 1/.exec(await (await fetch(`http://${base}/metrics`)).text())?.[1];
    const oldHash = await hash();
    expect(oldHash).toMatch(/^[0-9a-f]{64}$/);
    writeFileSync(
      '/etc/alloy/config.alloy',
      `${readFileSync('/etc/alloy/config.alloy', 'utf8').replace('forward_to = []', 'forward_to = [prometheus.remote_write.out.receiver]').replace(/scrape "self" \{/, 'scrape "self" {\n  scrape_interval = "1s"\n  scrape_timeout  = "1s"')}\nprometheus.remote_write "out" {\n  endpoint {\n    url = "http://127.0.0.1:${sink.port}/api/v1/write"\n  }\n}\n`,
    );
    const unit = parseUnit(readFileSync(UNIT, 'utf8'));
    const reload = expandExecStart(serviceValue(unit, 'ExecReload')!, new Map([['MAINPID', String(collectorPid(svc!))]]));
    expect(reload).toEqual(['/usr/bin/env', 'kill', '-HUP', String(collectorPid(svc!))]);
    run(reload[0]!, reload.slice(1));
    await until('the reloaded pipeline to deliver self-metrics to the sink', () => sink.received > 0, 30_000).catch(async (err: unknown) => {
      const state = await fetch(`http://${base}/api/v0/web/components`).then((r) => r.text(), (e: unknown) => String(e));
      throw new Error(`${String(err)}\nalloy.service output:\n${svc!.proc.output()}\ncomponents: ${state}`);
    });
    expect(await hash()).not.toBe(oldHash);
    expect([...sink.samples.keys()].some((k) => k.includes('__name__=alloy_build_info'))).toBe(true);
    expect(existsSync('/var/lib/alloy/data/prometheus.remote_write.out')).toBe(true);
    expect(outsideData()).toEqual(before);
    const foreign = run('find', ['/var/lib/alloy/data', '!', '-user', 'alloy']).trim();
    expect(foreign).toBe('');
  }, 60_000);

  it('dpkg -r keeps configuration and data; dpkg -P removes them', async () => {
    await svc!.proc.stop();
    run('dpkg', ['-r', 'alloy']);
    expect(packageStatus()).toBe('rc');
    expect(existsSync('/usr/bin/alloy')).toBe(false);
    expect(existsSync(UNIT)).toBe(false);
    expect(readFileSync('/etc/alloy/config.alloy', 'utf8')).toContain('prometheus.remote_write "out"');
    expect(existsSync('/etc/default/alloy')).toBe(true);
    expect(existsSync('/var/lib/alloy/data/prometheus.remote_write.out')).toBe(true);

    run('dpkg', ['-P', 'alloy']);
    expect(packageStatus()).toBe('not-installed');
    for (const p of ['/etc/alloy', '/etc/default/alloy', '/var/lib/alloy', '/etc/systemd/system/multi-user.target.wants/alloy.service']) {
      expect([p, existsSync(p)]).toEqual([p, false]);
    }
  });

  it('the standalone executable runs the docs proxy config with no node on PATH', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-standalone-'));
    try {
      const [ui, ingest] = [await freePort(), await freePort()];
      const cfg = path.join(dir, 'proxy.alloy');
      writeFileSync(
        cfg,
        `prometheus.receive_http "ingest" {\n  http {\n    listen_address = "0.0.0.0"\n    listen_port    = ${ingest}\n  }\n  forward_to = [prometheus.remote_write.to_backend.receiver]\n}\n\nprometheus.remote_write "to_backend" {\n  endpoint {\n    url = "http://127.0.0.1:${sink.port}/api/v1/push"\n  }\n}\n`,
      );
      const p = spawnProc('standalone', '/usr/bin/env', ['-i', 'PATH=/nonexistent', exe, 'run', `--server.http.listen-addr=127.0.0.1:${ui}`, `--storage.path=${path.join(dir, 'data')}`, cfg]);
      await until(() => `standalone ready:\n${p.output()}`, async () => {
        if (p.proc.exitCode !== null) throw new Error(`standalone exited:\n${p.output()}`);
        return httpOk(`http://127.0.0.1:${ui}/-/ready`);
      }, 30_000);
      const enc = new WriteRequestEncoder();
      const t = Date.now();
      for (let i = 0; i < 50; i++) enc.addSample(encodeLabels([{ name: '__name__', value: 'standalone_gauge' }, { name: 'idx', value: String(i) }]), t, i);
      const r = await fetch(`http://127.0.0.1:${ingest}/api/v1/metrics/write`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' },
        body: compress(enc.finish()),
      });
      expect(r.status).toBe(204);
      await until('50 proxied samples at the sink', () => [...sink.samples.keys()].filter((k) => k.includes('standalone_gauge')).length === 50, 20_000);
      await p.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
