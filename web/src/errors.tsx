// Errors in words a person understands: what happened, what to do, and the request ID that finds the
// request in the server's logs and audit trail. Every error shown in the console goes through here.

import { ApiError } from './api.ts';

/** What to say about an error code: a title, and what to do next. */
export type Words = Record<string, { title: string; next?: string }>;

const SAY: Words = {
  UNAUTHENTICATED: { title: 'You are not signed in', next: 'Sign in again with a valid API token.' },
  ACCESS_DENIED: { title: 'You are not allowed to do this', next: "Ask your account's root to attach a policy that allows it." },
  ROOT_ONLY: { title: "Only the account's root can do this", next: 'Ask the account owner to do it for you.' },
  NOT_FOUND: { title: 'Not found', next: 'It may have been deleted, or the link is wrong.' },
  VALIDATION_FAILED: { title: 'Some of what you entered was not accepted', next: 'Correct the form and try again.' },
  CONFLICT: { title: 'This conflicts with something that already exists', next: 'Pick another name, or reload to see the current state.' },
  ENDPOINT_UNAVAILABLE: { title: 'The cluster has no endpoint of that kind', next: 'Pick the other endpoint.' },
  FORBIDDEN_GROUP: { title: 'kubecred will not put that Kubernetes group in a certificate' },
  CSR_INVALID: { title: 'The certificate signing request cannot be used' },
  CA_INVALID: { title: 'The client CA could not be imported', next: 'Paste a CA certificate and its matching private key, both in PEM.' },
  PAYLOAD_TOO_LARGE: { title: 'What you sent is too large' },
  UNSUPPORTED_MEDIA_TYPE: { title: 'The console sent something the server does not understand', next: 'Reload the page; if it happens again, report it with the request ID.' },
  RATE_LIMITED: { title: 'Too many requests', next: 'Wait a moment and try again.' },
  UNAVAILABLE: { title: "The server's database is not answering", next: 'Try again in a moment; tell your operator if it persists.' },
  INTERNAL: { title: 'Something went wrong on the server', next: 'Tell your operator, with the request ID below.' },
  NETWORK: { title: 'Cannot reach the kubecred server' },
};

/**
 * The server's message as a sentence: a closing full stop, and its first letter as sent. A message may start with a
 * name, a field or an ID (alice, publicEndpoint, usr_…), which a capital would change.
 */
const sentence = (s: string) => (s ? s + (/[.!?]$/.test(s) ? '' : '.') : '');

/** `words` overrides the general wording where a page knows what a code means there (one CONFLICT is not another). */
export function describe(e: unknown, words: Words = {}): { title: string; message: string; next?: string; requestId: string | null } {
  if (e instanceof ApiError) {
    const say = words[e.code] ?? SAY[e.code] ?? { title: `The server refused the request (${e.code})` };
    return { title: say.title, message: sentence(e.message), next: say.next, requestId: e.requestId };
  }
  return { title: 'Something went wrong in the console', message: sentence(String((e as Error)?.message ?? e)), requestId: null };
}

export function ErrorNotice(props: { error: unknown; onRetry?: () => void; words?: Words }) {
  if (!props.error) return null;
  const d = describe(props.error, props.words);
  return (
    <div class="notice notice-error" role="alert">
      <p class="notice-title">{d.title}</p>
      {d.message && <p>{d.message}</p>}
      {d.next && <p>{d.next}</p>}
      <p class="request-id">
        {d.requestId ? <>Request ID: <code>{d.requestId}</code></> : 'No request ID: the request did not reach the server.'}
      </p>
      {props.onRetry && <button type="button" onClick={props.onRetry}>Try again</button>}
    </div>
  );
}

/** A mistake caught before anything was sent (so there is no request ID to show). */
export function FormProblem(props: { text: string | null }) {
  if (!props.text) return null;
  return <div class="notice notice-error" role="alert"><p class="notice-title">Check the form</p><p>{props.text}</p><p class="request-id">Nothing was sent to the server.</p></div>;
}
