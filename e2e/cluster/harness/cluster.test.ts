import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { claimIpBlock } from './cluster.js';

describe('claimIpBlock', () => {
  it('hands out distinct pod IP blocks while held, takes over locks of dead processes, and releases', () => {
    const a = claimIpBlock();
    const b = claimIpBlock();
    try {
      expect(a.base).toMatch(/^127\.\d+$/);
      expect(b.base).not.toBe(a.base);
      const lockA = path.join(os.tmpdir(), `dev-cluster-ip-${a.base}.lock`);
      expect(fs.readFileSync(lockA, 'utf8')).toBe(String(process.pid));
      a.release();
      expect(fs.existsSync(lockA)).toBe(false);
      // A lock left by a process that no longer exists is free again.
      fs.writeFileSync(lockA, '999999999');
      const again = claimIpBlock(Number(a.base.split('.')[1]));
      expect(again.base).toBe(a.base);
      again.release();
    } finally {
      a.release();
      b.release();
    }
  });
});
