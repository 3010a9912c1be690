// RFC 3339 date-times as callers write them, read strictly: the date and time must exist as written.

// Section 5.6 date-time; T and Z may be lower case there. The offset is required: a time without one is
// ambiguous, and new Date() would read it as the server's local time.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/**
 * The instant an RFC 3339 date-time names, or null when it is not one or names a date or time that does not
 * exist. new Date() alone took far more: "0" as 2000-01-01, and 2026-02-31 rolled over to March 3, so a typo
 * silently moved a window or a certificate's end.
 */
export function parseRfc3339(v: string): Date | null {
  const m = DATE_TIME.exec(v);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const oh = Number(m[9] ?? 0);
  const om = Number(m[10] ?? 0);
  // setUTCFullYear, not Date.UTC, which reads years 0-99 as 1900-1999.
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d);
  t.setUTCHours(h, mi, s, ms);
  // The fields must come back as written: no February 31, hour 24 or minute 60 rolling over into the next unit.
  const real = t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d && t.getUTCHours() === h && t.getUTCMinutes() === mi && t.getUTCSeconds() === s;
  if (!real || oh > 23 || om > 59) return null;
  return new Date(t.getTime() - (m[8] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000);
}
