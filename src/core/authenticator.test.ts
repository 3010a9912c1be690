// Access-key checks: an unknown or revoked key is checked the way a known one is (the signature is recomputed,
// on a stand-in secret), so the time taken does not tell which key IDs exist; only a signature that holds gets in.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeKit } from './test-kit.ts';

test('an unknown or revoked access key still has its signature recomputed, on a secret that is not any key\'s', async () => {
  const kit = await makeKit();
  try {
    const { accessKeyId, accessKeySecret } = kit.boot;
    const seen: string[] = [];
    const verifyAs = (id: string, ok: boolean) => kit.authority.authenticator.verifyAccessKey(id, (secret) => (seen.push(secret), ok));

    const good = await verifyAs(accessKeyId, true);
    assert.equal(good.ok, true);
    assert.equal(good.ok && good.principal.id, kit.boot.rootPrincipalId);
    assert.deepEqual(await verifyAs(accessKeyId, false), { ok: false, unknownKey: false });
    assert.deepEqual(seen, [accessKeySecret, accessKeySecret]);

    seen.length = 0;
    // A signature that would hold does not open an unknown key.
    assert.deepEqual(await verifyAs('KCNOSUCHKEY0000000000000', true), { ok: false, unknownKey: true });
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.length, accessKeySecret.length);
    assert.notEqual(seen[0], accessKeySecret);

    await kit.store.accessKeys.revoke(kit.boot.rootPrincipalId, accessKeyId, kit.clock.now());
    seen.length = 0;
    assert.deepEqual(await verifyAs(accessKeyId, true), { ok: false, unknownKey: true });
    assert.equal(seen.length, 1);
    assert.notEqual(seen[0], accessKeySecret, 'a revoked key\'s secret is not even opened');
  } finally {
    await kit.close();
  }
});
