// --outage-grace (env KUBECRED_OUTAGE_GRACE_SECONDS): how long /readyz stays ready while the database cannot be reached.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadServerConfig } from './server-config.ts';

test('the outage grace defaults to 5 minutes, is taken from the flag, then the environment, and must be whole seconds', () => {
  assert.equal(loadServerConfig({}, {}).outageGraceMs, 300_000);
  assert.equal(loadServerConfig({}, { KUBECRED_OUTAGE_GRACE_SECONDS: '30' }).outageGraceMs, 30_000);
  assert.equal(loadServerConfig({ outageGrace: '0' }, { KUBECRED_OUTAGE_GRACE_SECONDS: '30' }).outageGraceMs, 0);
  for (const bad of ['-1', '1.5', '5m', '']) {
    assert.throws(() => loadServerConfig({ outageGrace: bad }, {}), /--outage-grace must be a whole number of seconds/, bad);
  }
});
