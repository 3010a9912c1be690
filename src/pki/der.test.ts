// DER writer byte-exactness, cross-checked by round-tripping through our reader and openssl asn1parse.
// Must never only compare against our own expectations where openssl can judge the encoding.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as der from './der.ts';
import { children, decodeBitString, decodeOid, decodeTime, readOnly } from './der-read.ts';
import { openssl, scratch } from './testkit.ts';

const hex = (b: Buffer) => b.toString('hex');

test('INTEGER: minimal, positive, with a pad byte only when the top bit is set', () => {
  assert.equal(hex(der.integerFromBytes(Buffer.from([0]))), '020100');
  assert.equal(hex(der.integerFromBytes(Buffer.from([0, 0, 0]))), '020100');
  assert.equal(hex(der.integerFromBytes(Buffer.from([0x7f]))), '02017f');
  assert.equal(hex(der.integerFromBytes(Buffer.from([0x80]))), '02020080');
  assert.equal(hex(der.integerFromBytes(Buffer.from([0, 0, 0x80, 1]))), '0203008001');
  assert.equal(hex(der.integerFromBytes(Buffer.from([0, 1]))), '020101');
  assert.equal(hex(der.integerFromNumber(2)), '020102');
  assert.equal(hex(der.integerFromNumber(256)), '02020100');
});

test('lengths: short form below 128, minimal long form above', () => {
  assert.equal(hex(der.octetString(Buffer.alloc(127))).slice(0, 4), '047f');
  assert.equal(hex(der.octetString(Buffer.alloc(128))).slice(0, 6), '048180');
  assert.equal(hex(der.octetString(Buffer.alloc(300))).slice(0, 8), '0482012c');
  assert.equal(hex(der.octetString(Buffer.alloc(70000))).slice(0, 10), '0483011170');
  assert.equal(readOnly(der.sequence(der.octetString(Buffer.alloc(70000)))).end, 70000 + 5 + 5);
});

test('OIDs, strings, BOOLEAN, NULL, BIT STRING and tags', () => {
  assert.equal(hex(der.oid('1.2.840.113549.1.1.11')), '06092a864886f70d01010b');
  assert.equal(hex(der.oid('2.5.29.37')), '0603551d25');
  assert.equal(hex(der.oid('2.999.3')), '0603883703');
  for (const o of ['1.2.840.10045.4.3.2', '2.5.4.3', '1.3.6.1.5.5.7.3.2', '2.999.3']) assert.equal(decodeOid(readOnly(der.oid(o))), o);
  assert.equal(hex(der.utf8String('é')), '0c02c3a9');
  assert.equal(hex(der.printableString('AB c')), '130441422063');
  assert.throws(() => der.printableString('a@b'));
  assert.equal(hex(der.boolean(true)), '0101ff');
  assert.equal(hex(der.boolean(false)), '010100');
  assert.equal(hex(der.NULL), '0500');
  assert.equal(hex(der.bitString(Buffer.from([1, 2]))), '030300' + '0102');
  // keyUsage digitalSignature(0)+keyEncipherment(2) = 101 -> 0xa0 with 5 unused bits (what openssl writes).
  assert.equal(hex(der.namedBits([0, 2])), '030205a0');
  assert.equal(hex(der.namedBits([0, 5, 6])), '03020186');
  assert.deepEqual(decodeBitString(readOnly(der.namedBits([0, 5, 6])), true), { bytes: Buffer.from([0x86]), unused: 1 });
  assert.equal(hex(der.explicit(0, der.integerFromNumber(2))), 'a003020102');
  assert.equal(hex(der.implicit(0, Buffer.from([0xab]))), '8001ab');
  assert.equal(hex(der.implicit(1, Buffer.from([0x30, 0x00]), true)), 'a1023000');
  // SET OF elements come out sorted whatever the input order.
  assert.equal(hex(der.set(der.integerFromNumber(5), der.integerFromNumber(1))), '3106020101020105');
});

test('time: UTCTime through 2049, GeneralizedTime from 2050 and before 1950', () => {
  const cases: Array<[string, string]> = [
    ['1950-01-01T00:00:00Z', '170d3530303130313030303030305a'],
    ['2049-12-31T23:59:59Z', '170d3439313233313233353935395a'],
    ['2050-01-01T00:00:00Z', '180f32303530303130313030303030305a'],
    ['1949-12-31T23:59:59Z', '180f31393439313233313233353935395a'],
  ];
  for (const [iso, expected] of cases) {
    const enc = der.time(new Date(iso));
    assert.equal(hex(enc), expected, iso);
    assert.equal(decodeTime(readOnly(enc)).toISOString(), new Date(iso).toISOString());
  }
  assert.throws(() => der.time(new Date(NaN)));
});

test('openssl asn1parse reads a nested structure the way we wrote it', () => {
  const s = scratch();
  const blob = der.sequence(
    der.integerFromBytes(Buffer.from([0x80, 0])),
    der.oid('1.2.840.10045.4.3.2'),
    der.set(der.utf8String('kubecred'), der.printableString('ZZ')),
    der.time(new Date('2051-06-01T12:00:00Z')),
    der.explicit(3, der.sequence(der.boolean(true), der.octetString(Buffer.alloc(200, 1)))),
  );
  const out = openssl(['asn1parse', '-inform', 'DER', '-in', s.file('blob.der', blob)]);
  assert.match(out, /INTEGER\s+:8000/);
  assert.match(out, /OBJECT\s+:ecdsa-with-SHA256/);
  assert.match(out, /UTF8STRING\s+:kubecred/);
  assert.match(out, /PRINTABLESTRING\s+:ZZ/);
  assert.match(out, /GENERALIZEDTIME\s+:20510601120000Z/);
  assert.match(out, /cont \[ 3 \]/);
  assert.match(out, /BOOLEAN\s+:255/);
  assert.equal(children(readOnly(blob)).length, 5);
});

test('the reader refuses non-DER and out-of-bounds input', () => {
  for (const bad of ['3080', '30810100', '3005020101', '300302010100', '04820001ff', '1f0100']) {
    assert.throws(() => readOnly(Buffer.from(bad, 'hex')), bad);
  }
});

test('parseCertificate: a certificate with a part missing is a DerError, never a TypeError', async () => {
  const { createClientCa } = await import('./ca.ts');
  const { pemToDer } = await import('./fingerprint.ts');
  const { parseCertificate } = await import('./x509.ts');
  const { DerError } = await import('./der-read.ts');
  const ca = await createClientCa({ commonName: 'x', algorithm: 'ec-p256', notBefore: new Date(0), notAfter: new Date(86_400_000) });
  const cert = pemToDer(ca.certPem, 'CERTIFICATE');
  const [tbs, alg, sig] = children(readOnly(cert)).map((t) => t.buf.subarray(t.start, t.end));
  const fields = children(readOnly(tbs!)).map((t) => t.buf.subarray(t.start, t.end));
  const withTbs = (...f: Buffer[]) => der.sequence(der.sequence(...f), alg!, sig!);
  const cut: Buffer[] = [
    der.sequence(),
    withTbs(),
    ...[1, 2, 3, 4, 5, 6].map((k) => withTbs(...fields.slice(0, k))),
    withTbs(...fields.slice(0, 4), der.sequence(fields[4]!.subarray(2, 15)), ...fields.slice(5)), // validity with one time
    withTbs(...fields.slice(0, 6), der.sequence(der.sequence(der.oid('1.2.840.10045.2.1'))), ...fields.slice(7)), // SPKI without its key
    withTbs(...fields.slice(0, 7), der.explicit(3)), // an empty extensions wrapper
    withTbs(...fields.slice(0, 7), der.explicit(3, der.sequence(der.sequence()))), // an empty extension
  ];
  for (const c of cut) assert.throws(() => parseCertificate(c), (e) => e instanceof DerError, hex(c).slice(0, 60));
  assert.equal(parseCertificate(cert).notAfter.getTime(), 86_400_000);
});
