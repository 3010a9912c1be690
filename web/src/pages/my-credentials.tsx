// "My API credentials": the signed-in principal's own API tokens and access keys. Everyone may list and
// revoke their own; creating them is a permission like any other (the server decides).

import type { Session } from '../types.ts';
import { PageTitle } from '../ui.tsx';
import { AccessKeys } from './access-keys.tsx';
import { ApiTokens } from './api-tokens.tsx';

export function MyCredentialsPage(props: { session: Session; onSessionTokenRevoked(tokenId: string): void }) {
  const me = props.session.principal;
  return (
    <section>
      <PageTitle sub="Your API tokens and access keys, never their secrets. You may always list and revoke your own; creating one needs a policy that allows it (the root may do everything).">My API credentials</PageTitle>
      <ApiTokens principal={me} session={props.session} onSessionTokenRevoked={props.onSessionTokenRevoked} />
      <AccessKeys principal={me} session={props.session} />
    </section>
  );
}
