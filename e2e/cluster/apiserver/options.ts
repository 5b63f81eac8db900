/**
 * Options and provider contracts of the in-process API server, shared by `index.ts` (the public
 * entry, which re-exports them) and `server.ts`, so that neither imports the other's module.
 */
import type { Logger } from 'winston';

export interface PodLogOptions {
  readonly follow: boolean;
  readonly tailLines?: number;
  readonly previous: boolean;
  readonly timestamps: boolean;
  readonly sinceSeconds?: number;
  /** RFC3339 time; entries stamped before it are skipped (second precision, as a kubelet). */
  readonly sinceTime?: string;
  readonly limitBytes?: number;
}

/**
 * The `pods/log` query (`follow`, `previous`, `timestamps`, `tailLines`, `sinceSeconds`,
 * `sinceTime`, `limitBytes`) as options, or the message of the real server's 400 for a bad one.
 * Also what a kubelet's `/containerLogs` endpoint receives.
 */
export function podLogOptions(q: URLSearchParams): PodLogOptions | string {
  const num = (k: string): number | undefined => (q.get(k) === null ? undefined : Number(q.get(k)));
  const tail = num('tailLines');
  const since = num('sinceSeconds');
  const sinceTime = q.get('sinceTime');
  if (sinceTime !== null && since !== undefined) return 'at most one of sinceTime or sinceSeconds may be specified';
  if (sinceTime !== null && Number.isNaN(Date.parse(sinceTime))) return `parsing time "${sinceTime}" as RFC3339: invalid`;
  const limitBytes = num('limitBytes');
  return {
    follow: q.get('follow') === 'true',
    previous: q.get('previous') === 'true',
    timestamps: q.get('timestamps') === 'true',
    ...(tail !== undefined ? { tailLines: tail } : {}),
    ...(since !== undefined ? { sinceSeconds: since } : {}),
    ...(sinceTime !== null ? { sinceTime } : {}),
    ...(limitBytes !== undefined ? { limitBytes } : {}),
  };
}

export type PodLogProvider = (
  namespace: string,
  pod: string,
  container: string,
  opts: PodLogOptions,
) => NodeJS.ReadableStream | undefined;

export interface PodExecIO {
  /** Present when the client attached stdin (`kubectl exec -i`); ends when the client closes it. */
  readonly stdin?: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly tty: boolean;
}

/**
 * Runs `command` in a container and resolves with its exit code; `undefined` when the container
 * is not running (answered 400 like the real server).
 */
export type PodExecProvider = (namespace: string, pod: string, container: string, command: readonly string[], io: PodExecIO) => Promise<number> | undefined;

export interface StartApiServerOptions {
  /** Listen address; loopback only. @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** Persist state as JSON here so a restart keeps objects. @default in memory only */
  readonly dataDir?: string;
  readonly logger?: Logger;
  /** Interval of watch BOOKMARK events when a client allows them. @default 10000 */
  readonly bookmarkIntervalMs?: number;
  /** Watch history kept for resume; older resourceVersions get 410 Gone. @default 10000 */
  readonly historySize?: number;
  /**
   * Watches without `timeoutSeconds` end after a random time between this and twice this, like
   * kube-apiserver's `--min-request-timeout`, so clients exercise their re-watch path. @default 1800
   */
  readonly minRequestTimeoutSeconds?: number;
  /** Service cluster IP range (IPv4 CIDR between /8 and /24). @default '10.96.0.0/16' */
  readonly serviceCidr?: string;
}
