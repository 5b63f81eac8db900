import { redactConfigSource } from './config-source.js';

describe('redactConfigSource', () => {
  it('hides string literals of credential attributes and URL passwords, keeping the rest byte for byte', () => {
    const src = [
      'prometheus.remote_write "cloud" {',
      '  endpoint {',
      '    url = "https://tenant:s3cr3t@prom.example/api/v1/write"',
      '    basic_auth {',
      '      username = "tenant-42"',
      '      password = "hunter2" // inline comment',
      '    }',
      '    bearer_token = "tok"',
      '    oauth2 { client_secret = "cs" }',
      '  }',
      '}',
      'local.file "f" { filename = "/tmp/password.txt" }',
      'x = { password_file = "/etc/pw", keep = "password = \\"no\\"" }',
      '',
    ].join('\n');
    const out = redactConfigSource(src);
    for (const secret of ['s3cr3t', 'hunter2', '"tok"', '"cs"']) expect(out).not.toContain(secret);
    expect(out).toContain('url = "https://tenant:xxxxx@prom.example/api/v1/write"');
    expect(out).toContain('password = "(secret)" // inline comment');
    expect(out).toContain('bearer_token = "(secret)"');
    expect(out).toContain('client_secret = "(secret)"');
    expect(out).toContain('username = "tenant-42"');
    expect(out).toContain('filename = "/tmp/password.txt"');
    expect(out).toContain('password_file = "/etc/pw"');
    expect(out.split('\n')).toHaveLength(src.split('\n').length);
  });

  it('leaves a source without credentials unchanged, and still hides URL passwords when it does not scan', () => {
    const ok = 'a.b "c" {\n  x = "y"\n}\n';
    expect(redactConfigSource(ok)).toBe(ok);
    expect(redactConfigSource('x = "http://u:p@h" \u0001 password = "z')).toBe('x = "http://u:xxxxx@h" \u0001 password = "z');
  });
});
