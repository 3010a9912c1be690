// Other replicas' credential changes, as PostgreSQL announces them: one dedicated connection that
// LISTENs on the channel the credentials trigger NOTIFYs (migration 006). Notifications are sent only
// when the writing transaction commits. On a lost connection it reconnects with backoff and reports
// the gap, so the caller can catch up from the table itself.

import pg from 'pg';
import type { CredentialState } from '../../core/model.ts';
import type { CredentialChangeFeed, IndexedCredential } from '../../core/store-port.ts';
import { CREDENTIAL_CHANNEL } from '../migrations.ts';
import { pgTypes } from './pg-types.ts';

interface Payload { id: string; c: string; p: string; f: string; s: string; n: number }

const HEARTBEAT_MS = 5_000;
// Short: while the feed is down and the database answers, this server is not ready (changeFeed), so once
// PostgreSQL is back it should listen again within a second, not five. An attempt on a down database is cheap.
const MAX_BACKOFF_MS = 1_000;

export function parsePayload(text: string): IndexedCredential | null {
  try {
    const p = JSON.parse(text) as Payload;
    if (typeof p.id !== 'string' || typeof p.f !== 'string' || typeof p.n !== 'number') return null;
    return { id: p.id, clusterId: p.c, principalId: p.p, fingerprintSha256: p.f, state: p.s as CredentialState, notAfter: new Date(p.n) };
  } catch {
    return null;
  }
}

export function pgChangeFeed(url: string): CredentialChangeFeed {
  let client: pg.Client | null = null;
  let stopped = false;
  let backoff = 250;
  let heartbeat: NodeJS.Timeout | null = null;
  let retryTimer: NodeJS.Timeout | null = null;
  let handlers: { onChange: (c: IndexedCredential[]) => void; onReconnect: () => void } | null = null;
  let skewMs: number | null = null;
  /** The database's clock against this process's, halfway through the round trip. */
  const measureSkew = async (c: pg.Client) => {
    const sent = Date.now();
    const r = await c.query<{ ms: number }>('select (extract(epoch from clock_timestamp()) * 1000)::float8 as ms');
    skewMs = Number(r.rows[0]!.ms) - (sent + Date.now()) / 2;
  };

  async function connect(): Promise<void> {
    const c = new pg.Client({ connectionString: url, types: pgTypes, connectionTimeoutMillis: 3_000, keepAlive: true, application_name: 'kubecred-listen' });
    let gone = false;
    const lose = () => {
      if (gone) return;
      gone = true;
      if (client === c) client = null;
      c.end().catch(() => {});
      schedule();
    };
    c.on('error', lose);
    c.on('end', lose);
    c.on('notification', (msg) => {
      if (msg.channel !== CREDENTIAL_CHANNEL || !msg.payload) return;
      const changed = parsePayload(msg.payload);
      if (changed) handlers?.onChange([changed]);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${CREDENTIAL_CHANNEL}`);
      await measureSkew(c);
    } catch (e) {
      gone = true;
      c.end().catch(() => {});
      throw e;
    }
    if (stopped) {
      gone = true;
      await c.end().catch(() => {});
      return;
    }
    client = c;
    backoff = 250;
  }

  function schedule(): void {
    if (stopped || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      connect().then(
        () => handlers?.onReconnect(),
        () => {
          backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
          schedule();
        },
      );
    }, backoff);
    retryTimer.unref();
  }

  return {
    async start(onChange, onReconnect) {
      handlers = { onChange, onReconnect };
      await connect();
      // A connection that died silently (a half-open TCP session) is found by a query that does not answer.
      heartbeat = setInterval(() => {
        const c = client;
        if (!c) return;
        const timer = setTimeout(() => c.emit('error', new Error('heartbeat timed out')), HEARTBEAT_MS);
        measureSkew(c).then(() => clearTimeout(timer), () => clearTimeout(timer));
      }, HEARTBEAT_MS);
      heartbeat.unref();
    },
    connected: () => client !== null,
    clockSkewMs: () => skewMs,
    async stop() {
      stopped = true;
      if (heartbeat) clearInterval(heartbeat);
      if (retryTimer) clearTimeout(retryTimer);
      const c = client;
      client = null;
      await c?.end().catch(() => {});
    },
  };
}
