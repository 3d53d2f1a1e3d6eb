/**
 * Build (once) every binary the local cluster needs into the cache, and install Prometheus,
 * Alertmanager and bubblewrap from Debian's packages if missing. Safe to run again: cached
 * builds are skipped.
 */
import { ensureTools } from '../dev/tools.ts';

const started = Date.now();
const seconds = await ensureTools();
const total = Math.round((Date.now() - started) / 1000);
const built = Object.entries(seconds).filter(([, s]) => s > 0);
console.log(
  built.length === 0
    ? `tools: all cached (${total} s)`
    : `tools: built ${built.map(([t, s]) => `${t} ${s} s`).join(', ')}; total ${total} s`,
);
