/**
 * EventBridge event-pattern matching for the local cloud: exact values, `prefix`, `suffix`,
 * `exists`, `anything-but` and `equals-ignore-case`, nested to any depth.
 */

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function matchesOne(rule: unknown, value: unknown, present: boolean): boolean {
  if (!isRecord(rule)) return present && (Array.isArray(value) ? value.includes(rule) : value === rule);
  if ('exists' in rule) return rule.exists === present;
  if (!present) return false;
  const values = Array.isArray(value) ? value : [value];
  if (typeof rule.prefix === 'string')
    return values.some((v) => typeof v === 'string' && v.startsWith(String(rule.prefix)));
  if (typeof rule.suffix === 'string')
    return values.some((v) => typeof v === 'string' && v.endsWith(String(rule.suffix)));
  if (typeof rule['equals-ignore-case'] === 'string') {
    const want = String(rule['equals-ignore-case']).toLowerCase();
    return values.some((v) => typeof v === 'string' && v.toLowerCase() === want);
  }
  if ('anything-but' in rule) {
    const banned = Array.isArray(rule['anything-but']) ? rule['anything-but'] : [rule['anything-but']];
    return values.every((v) => !banned.includes(v));
  }
  throw new Error(`unsupported event-pattern operator ${JSON.stringify(rule)}`);
}

/** True when `event` matches `pattern`. */
export function matchesPattern(pattern: Readonly<Record<string, unknown>>, event: unknown): boolean {
  for (const [field, rule] of Object.entries(pattern)) {
    const present = isRecord(event) && field in event;
    const value = present && isRecord(event) ? event[field] : undefined;
    if (Array.isArray(rule)) {
      if (!rule.some((r) => matchesOne(r, value, present))) return false;
    } else if (isRecord(rule)) {
      if (!present || !matchesPattern(rule, value)) return false;
    } else {
      throw new Error(
        `event-pattern field '${field}' must be an array or an object, got ${JSON.stringify(rule)}`,
      );
    }
  }
  return true;
}
