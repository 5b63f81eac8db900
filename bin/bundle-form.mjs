// Which form bin/alloy and bin/operator start. Imported by both launchers (keep it free of other
// imports: it runs before anything else), by bench/startup.ts and e2e/packaging/launcher.test.ts.

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

/**
 * The file a launcher imports: the bundle `bundle` when the bundle in `dir` is current (or
 * ALLOY_TS_FORM=bundle), else the compiled module `dist` (or ALLOY_TS_FORM=dist). Exits 1 with a
 * message prefixed by `program` when ALLOY_TS_FORM has another value or the file is missing.
 * `root` ends with a separator; `bundle` and `dist` are relative to it.
 */
export function launchEntry(root, fs, program, { bundle, dist, dir = 'dist/bundle' }) {
  const forced = process.env.ALLOY_TS_FORM;
  if (forced !== undefined && forced !== 'dist' && forced !== 'bundle') {
    process.stderr.write(`${program}: ALLOY_TS_FORM must be "dist" or "bundle", not ${JSON.stringify(forced)}\n`);
    process.exit(1);
  }
  const useBundle = forced === 'bundle' || (forced === undefined && bundleIsCurrent(root, fs, dir));
  const rel = useBundle ? bundle : dist;
  if (!fs.existsSync(root + rel)) {
    const how = useBundle ? 'run "npm run build" (it ends with node packaging/bundle.mjs)' : 'run "npm run build" (or "npm install && npm run build") first';
    process.stderr.write(`${program}: ${root}${rel} is missing: ${how}.\n`);
    process.exit(1);
  }
  return root + rel;
}
