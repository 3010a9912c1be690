// The error a promise rejects with, for tests that inspect an SDK's error object; fails if it resolves.

export async function rejectionOf<T = any>(p: Promise<unknown>): Promise<T> {
  try {
    await p;
  } catch (e) {
    return e as T;
  }
  throw new Error('expected the call to fail');
}
