// Validity as claims with a minimum, a maximum and a default (the smallstep way): how long each kind of
// kubeconfig lives and when a default one is renewed. Pure functions of their inputs and the clock.

import { invalid, shownValue } from './errors.ts';

export const TEMPORARY_MINUTES = { min: 15, max: 4320 } as const;
export const CUSTOM_VALIDITY_HOURS = { min: 1, max: 876000 } as const;
export const DEFAULT_VALIDITY_YEARS = 3;
/** A default kubeconfig is renewed from two months before it expires... */
export const RENEWAL_WINDOW_MS = 60 * 24 * 3600 * 1000;
/** Certificates are dated a little in the past so a client whose clock lags still accepts them. */
export const BACKDATE_MS = 5 * 60 * 1000;

const HOUR_MS = 3600 * 1000;

function checkInteger(value: number, range: { min: number; max: number }, field: string, unit: string): number {
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    throw invalid(`${field} must be a whole number of ${unit} from ${range.min} to ${range.max}; got ${shownValue(value)}`, { field, min: range.min, max: range.max });
  }
  return value;
}

/** A certificate asked for with an explicit end: from 15 minutes to 1827 days (five years) ahead. */
export const EXPLICIT_VALIDITY = { minMinutes: 15, maxDays: 1827 } as const;

export function checkExplicitNotAfter(notAfter: Date, now: Date, field = 'notAfter'): Date {
  const ms = notAfter.getTime() - now.getTime();
  if (!Number.isFinite(ms) || ms < EXPLICIT_VALIDITY.minMinutes * 60_000 || ms > EXPLICIT_VALIDITY.maxDays * 24 * HOUR_MS) {
    throw invalid(`${field} must be from ${EXPLICIT_VALIDITY.minMinutes} minutes to ${EXPLICIT_VALIDITY.maxDays} days ahead`, { field, minMinutes: EXPLICIT_VALIDITY.minMinutes, maxDays: EXPLICIT_VALIDITY.maxDays });
  }
  return notAfter;
}

export const checkTemporaryMinutes = (m: number, field = 'temporaryMinutes') => checkInteger(m, TEMPORARY_MINUTES, field, 'minutes');
export const checkCustomHours = (h: number, field = 'hours') => checkInteger(h, CUSTOM_VALIDITY_HOURS, field, 'hours');

/** When a default kubeconfig issued at `issuedAt` expires: a custom validity in hours, or three years. */
export function defaultNotAfter(issuedAt: Date, customHours: number | undefined): Date {
  if (customHours !== undefined) return new Date(issuedAt.getTime() + customHours * HOUR_MS);
  const d = new Date(issuedAt.getTime());
  d.setUTCFullYear(d.getUTCFullYear() + DEFAULT_VALIDITY_YEARS);
  return d;
}

export function temporaryNotAfter(issuedAt: Date, minutes: number): Date {
  return new Date(issuedAt.getTime() + minutes * 60 * 1000);
}

/** ...but never more than half its validity, so a short custom validity is not renewed on every request. */
export function renewalWindowMs(issuedAt: Date, notAfter: Date): number {
  return Math.min(RENEWAL_WINDOW_MS, (notAfter.getTime() - issuedAt.getTime()) / 2);
}

export function isDueForRenewal(c: { issuedAt: Date; notAfter: Date }, now: Date): boolean {
  return now.getTime() >= c.notAfter.getTime() - renewalWindowMs(c.issuedAt, c.notAfter);
}

/** A certificate cannot outlive the CA that signs it: clients would reject the chain. */
export function clampToIssuer(notAfter: Date, issuerNotAfter: Date): Date {
  return notAfter.getTime() > issuerNotAfter.getTime() ? new Date(issuerNotAfter.getTime()) : notAfter;
}

export function validityWindow(issuedAt: Date, notAfter: Date): { notBefore: Date; notAfter: Date } {
  // Whole seconds: X.509 times have no fractions, and the stored times must equal the certificate's.
  const nb = Math.floor((issuedAt.getTime() - BACKDATE_MS) / 1000) * 1000;
  const na = Math.floor(notAfter.getTime() / 1000) * 1000;
  return { notBefore: new Date(nb), notAfter: new Date(na) };
}
