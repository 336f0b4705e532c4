/** `--name value` and `--flag` command-line options. */
export function parseArgs(argv = process.argv.slice(2)): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith('--')) continue;
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) out.set(argv[i].slice(2), argv[++i]);
    else out.set(argv[i].slice(2), 'true');
  }
  return out;
}
