// Which form of the collector bin/alloy starts. Imported by bin/alloy (keep it free of other
// imports: it runs before anything else) and by bench/startup.ts.

/**
 * Whether dist/bundle/ (packaging/bundle.mjs) was built from the dist/ files now present: every
 * file listed in dist/bundle/inputs.json still exists with the same size and mtime (tsc rewrites
 * all of its outputs, so any later `tsc` makes the bundle stale). `root` ends with a separator.
 */
export function bundleIsCurrent(root, fs) {
  try {
    const { files } = JSON.parse(fs.readFileSync(`${root}dist/bundle/inputs.json`, 'utf8'));
    if (!Array.isArray(files) || files.length === 0) return false;
    for (const [rel, size, mtime] of files) {
      const st = fs.statSync(root + rel);
      if (st.size !== size || Math.floor(st.mtimeMs) !== mtime) return false;
    }
    return true;
  } catch {
    return false;
  }
}
