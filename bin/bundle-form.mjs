// Which form bin/alloy and bin/operator start. Imported by both launchers (keep it free of other
// imports: it runs before anything else) and by bench/startup.ts.

/**
 * Whether the bundle in `dir` (packaging/bundle.mjs; dist/bundle for the collector,
 * dist/bundle/operator for the operator) was built from the dist/ files now present: every file
 * listed in its inputs.json still exists with the same size and mtime (tsc rewrites all of its
 * outputs, so any later `tsc` makes the bundle stale). `root` ends with a separator.
 */
export function bundleIsCurrent(root, fs, dir = 'dist/bundle') {
  try {
    const { files } = JSON.parse(fs.readFileSync(`${root}${dir}/inputs.json`, 'utf8'));
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
