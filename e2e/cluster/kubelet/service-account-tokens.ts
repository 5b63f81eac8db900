/**
 * ServiceAccount tokens for projected `serviceAccountToken` volume sources, obtained the way a
 * real kubelet's token manager does: a TokenRequest for the pod's ServiceAccount, bound to the
 * pod (`boundObjectRef` kind Pod, name and uid), with the source's audience and
 * `expirationSeconds`. A token is cached per (namespace, ServiceAccount, pod uid, audience,
 * expiration) and requested again once 80 % of its lifetime has passed (or after 24 h), so the
 * pod's periodic volume sync writes the fresh one before the old one expires.
 *
 * A failed refresh keeps serving the cached token while it is still valid (the error is logged);
 * without a valid token the error surfaces as a mount failure that the pod worker retries.
 */

export interface TokenSource {
  readonly audience?: string;
  /** @default 3600 (the API's default for a projected token source) */
  readonly expirationSeconds?: number;
}

export interface TokenRequestSpec {
  readonly audiences?: readonly string[];
  readonly expirationSeconds: number;
  readonly boundObjectRef: { readonly apiVersion: 'v1'; readonly kind: 'Pod'; readonly name: string; readonly uid: string };
}

export interface TokenRequestStatus {
  readonly token: string;
  /** RFC 3339. */
  readonly expirationTimestamp: string;
}

export interface ServiceAccountTokensOptions {
  /** POSTs a TokenRequest to `serviceaccounts/<name>/token` in `namespace`; resolves its status. */
  request(namespace: string, serviceAccount: string, spec: TokenRequestSpec): Promise<TokenRequestStatus>;
  /** @default Date.now */
  readonly now?: () => number;
  readonly onError?: (message: string) => void;
}

interface Cached {
  readonly token: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

const MAX_AGE_MS = 24 * 3600_000;
const REFRESH_FRACTION = 0.8;

export class ServiceAccountTokens {
  #opts: ServiceAccountTokensOptions;
  #now: () => number;
  #cache = new Map<string, Cached>();
  /** Number of TokenRequests made (for tests). */
  requests = 0;

  constructor(opts: ServiceAccountTokensOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** The token for `source` of pod `pod`; requests a new one when none is cached or it is due for refresh. */
  async token(pod: { namespace: string; name: string; uid: string; serviceAccountName: string }, source: TokenSource): Promise<string> {
    const exp = source.expirationSeconds ?? 3600;
    const key = [pod.namespace, pod.serviceAccountName, pod.uid, source.audience ?? '', exp].join('\u0000');
    const cached = this.#cache.get(key);
    const now = this.#now();
    if (cached && !this.#due(cached, now)) return cached.token;
    try {
      this.requests++;
      const status = await this.#opts.request(pod.namespace, pod.serviceAccountName, {
        ...(source.audience ? { audiences: [source.audience] } : {}),
        expirationSeconds: exp,
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.name, uid: pod.uid },
      });
      const expiresAt = Date.parse(status.expirationTimestamp);
      if (!status.token || Number.isNaN(expiresAt)) throw new Error(`TokenRequest answered without a token or expirationTimestamp`);
      this.#cache.set(key, { token: status.token, issuedAt: now, expiresAt });
      return status.token;
    } catch (e) {
      const msg = `token for ServiceAccount ${pod.namespace}/${pod.serviceAccountName} (pod ${pod.name}): ${e instanceof Error ? e.message : String(e)}`;
      if (cached && now < cached.expiresAt) {
        this.#opts.onError?.(`${msg}; keeping the current token until it expires`);
        return cached.token;
      }
      throw new Error(msg);
    }
  }

  /** Forgets the tokens of a pod that is gone. */
  release(podUid: string): void {
    for (const k of [...this.#cache.keys()]) if (k.split('\u0000')[2] === podUid) this.#cache.delete(k);
  }

  #due(c: Cached, now: number): boolean {
    return now >= c.issuedAt + (c.expiresAt - c.issuedAt) * REFRESH_FRACTION || now >= c.issuedAt + MAX_AGE_MS;
  }
}
