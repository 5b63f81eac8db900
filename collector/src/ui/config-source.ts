/**
 * The running config as the Config page shows it: the source text with credentials hidden.
 * A string literal assigned to a credential attribute (`password`, `bearer_token`,
 * `client_secret`, `credentials`, `key_pem`, any `*_secret`/`*_token`/`*_password`/`*api_key`)
 * becomes `"(secret)"`, and a URL's userinfo password inside any string literal becomes
 * `xxxxx` (as Go's `url.URL.Redacted`). Everything else is kept byte for byte; a source that
 * does not scan is shown with only the URL rule applied.
 */
import { Scanner } from '../syntax/scanner/scanner.js';

const CREDENTIAL_NAME = /^(password|bearer_token|client_secret|credentials|key_pem|key|secret|token|api_key|apikey)$|_(password|secret|token|api_key|apikey|key_pem)$/i;
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@"]*:)([^\s/@"]+)(@)/gi;

export function redactConfigSource(src: string): string {
  const cuts: { start: number; end: number; text: string }[] = [];
  let failed = false;
  const s = new Scanner(src, () => {
    failed = true;
  });
  let prev: { tok: string; lit: string } | undefined;
  let prev2: { tok: string; lit: string } | undefined;
  for (let i = 0; i < 1_000_000; i++) {
    const tok = s.scan();
    if (tok === 'EOF' || failed) break;
    if (tok === 'STRING' && prev?.tok === 'ASSIGN' && prev2?.tok === 'IDENT' && CREDENTIAL_NAME.test(prev2.lit)) {
      cuts.push({ start: s.start, end: s.end, text: '"(secret)"' });
    }
    if (tok !== 'COMMENT') {
      prev2 = prev;
      prev = { tok, lit: s.lit };
    }
  }
  let out = src;
  if (!failed) for (const c of cuts.reverse()) out = out.slice(0, c.start) + c.text + out.slice(c.end);
  return out.replace(URL_PASSWORD, '$1xxxxx$3');
}
