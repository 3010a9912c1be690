// One storage contract, run unchanged on the embedded SQLite and on a real PostgreSQL started here.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import { openPostgresStore } from '../src/storage/postgres/postgres-store.ts';
import { defineStoreContract } from './support/store-contract.ts';
import { startPostgres, type TestPostgres } from './support/postgres.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubecred-contract-'));
let n = 0;
let postgres: TestPostgres;

before(async () => {
  postgres = await startPostgres();
});
after(async () => {
  await postgres?.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
});

defineStoreContract('sqlite', () => openSqliteStore({ file: path.join(dir, `c${n++}.db`) }));
defineStoreContract('postgres', async () => openPostgresStore({ url: await postgres.createDatabase(`contract_${n++}`), listen: false }));
