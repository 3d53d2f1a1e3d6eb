/**
 * Label selectors in the string form kwok's `--disregard-status-with-label-selector` takes
 * (`key`, `!key`, `key=value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`, joined by
 * commas), so the runner takes exactly the pods kwok leaves alone.
 */
type Requirement = (labels: Record<string, string>) => boolean;

function requirement(text: string): Requirement {
  const set = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(text);
  if (set) {
    const [, key, op, list] = set;
    const values = new Set(list!.split(',').map((v) => v.trim()));
    return (l) => (op === 'in' ? values.has(l[key!] ?? '\0') : !values.has(l[key!] ?? '\0'));
  }
  const eq = /^([^\s!=]+)\s*(==|=|!=)\s*(\S*)$/.exec(text);
  if (eq) {
    const [, key, op, value] = eq;
    return (l) => (op === '!=' ? l[key!] !== value : l[key!] === value);
  }
  const exists = /^(!?)([^\s!=(),]+)$/.exec(text);
  if (exists) return (l) => (exists[1] === '!') !== exists[2]! in l;
  throw new Error(`label selector: cannot parse "${text}"`);
}

/** Split on commas outside parentheses. */
function parts(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

/** A matcher; the empty selector matches nothing (kwok treats an empty flag as unset). */
export function parseSelector(
  selector: string,
): (labels: Record<string, string> | undefined) => boolean {
  const reqs = parts(selector).map(requirement);
  return (labels) => reqs.length > 0 && reqs.every((r) => r(labels ?? {}));
}
