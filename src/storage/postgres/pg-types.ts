// Type parsing for every kubecred connection to PostgreSQL: bigint columns (times in ms, counts) as
// JavaScript numbers, which hold them exactly (ms timestamps stay far below 2^53).

import pg from 'pg';

const INT8_OID = 20;

export const pgTypes = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};
