// The console's frame: finds out whether a session exists, shows sign-in or the signed-in layout,
// and picks the page for the current path.

import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, onSessionEnded, setCsrfToken } from './api.ts';
import { ErrorNotice } from './errors.tsx';
import { Link, match, navigate, useLocation } from './router.tsx';
import type { Session } from './types.ts';
import { Loading } from './ui.tsx';
import { SignInPage } from './pages/sign-in.tsx';
import { ClustersPage } from './pages/clusters.tsx';
import { ClusterCreatePage } from './pages/cluster-create.tsx';
import { ClusterPage } from './pages/cluster.tsx';
import { MyKubeconfigPage } from './pages/my-kubeconfig.tsx';
import { MyCredentialsPage } from './pages/my-credentials.tsx';
import { PrincipalPage } from './pages/principal.tsx';
import { PrincipalsPage } from './pages/principals.tsx';
import { GroupsPage } from './pages/groups.tsx';
import { PoliciesPage } from './pages/policies.tsx';
import { AuditPage } from './pages/audit.tsx';

const NAV = [
  { href: '/clusters', label: 'Clusters' },
  { href: '/kubeconfig', label: 'My kubeconfig' },
  { href: '/credentials', label: 'My API credentials' },
  { href: '/principals', label: 'Principals' },
  { href: '/groups', label: 'Groups' },
  { href: '/policies', label: 'Policies' },
  { href: '/audit', label: 'Audit log' },
];

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [startError, setStartError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const signedIn = (s: Session) => {
    setCsrfToken(s.csrfToken);
    setNotice(null);
    setSession(s);
  };
  const signedOut = (why: string | null) => {
    setCsrfToken(null);
    setNotice(why);
    setSession(null);
  };

  useEffect(() => {
    api<Session>('GET', '/v1/sessions/current').then(signedIn, (e) => {
      if (e?.code !== 'UNAUTHENTICATED') setStartError(e);
      setSession(null);
    });
    onSessionEnded(() => signedOut('Your session ended (it expired, you signed out elsewhere, or your API token was revoked). Sign in again.'));
    return () => onSessionEnded(null);
  }, []);

  if (session === undefined) return <main id="main" class="center"><Loading what="your session" /></main>;
  if (session === null) {
    return (
      <main id="main" class="center">
        <ErrorNotice error={startError} />
        <SignInPage notice={notice} onSignedIn={signedIn} />
      </main>
    );
  }
  return <Shell session={session} onSignedOut={signedOut} />;
}

function Shell(props: { session: Session; onSignedOut(why: string): void }) {
  const { path, query } = useLocation();
  const { session } = props;
  const [signOutError, setSignOutError] = useState<unknown>(null);
  const signOut = async () => {
    try {
      await api('DELETE', '/v1/sessions/current');
      navigate('/clusters', { replace: true });
      props.onSignedOut('You are signed out.');
    } catch (e) {
      // The session had ended already (signed out in another tab, expired, its token revoked): that is signed out too,
      // and the server cleared the cookie with its answer.
      if (e instanceof ApiError && e.code === 'UNAUTHENTICATED') {
        navigate('/clusters', { replace: true });
        props.onSignedOut('You are signed out (your session had already ended).');
      } else {
        setSignOutError(e);
      }
    }
  };
  // The server ended this session with its token; asking to sign out as well makes it clear the browser's cookie.
  const sessionTokenRevoked = async (tokenId: string) => {
    await api('DELETE', '/v1/sessions/current').catch(() => undefined);
    props.onSignedOut(`You revoked the API token this session was opened with (${tokenId}), so you are signed out. Sign in with another token.`);
  };
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <Link href="/clusters" class="brand">kubecred</Link>
        <nav aria-label="Main">
          <ul>
            {NAV.map((n) => (
              <li key={n.href}><Link href={n.href} current={path === n.href || path.startsWith(`${n.href}/`) || (path === '/' && n.href === '/clusters')}>{n.label}</Link></li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span title={session.principal.id}>
            {session.principal.name}{session.principal.isRoot && <span class="badge badge-root">root</span>}
          </span>
          <button type="button" onClick={signOut}>Sign out</button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <ErrorNotice error={signOutError} />
        <Page path={path} query={query} session={session} onSessionTokenRevoked={sessionTokenRevoked} />
      </main>
    </>
  );
}

function Page(props: { path: string; query: URLSearchParams; session: Session; onSessionTokenRevoked(tokenId: string): void }) {
  const { path, query, session, onSessionTokenRevoked } = props;
  if (path === '/' || path === '/clusters') return <ClustersPage />;
  if (path === '/clusters/new') return <ClusterCreatePage />;
  const m = match('/clusters/:id', path) ?? match('/clusters/:id/:tab', path);
  if (m) return <ClusterPage id={m.id} tab={m.tab ?? 'overview'} session={session} />;
  if (path === '/kubeconfig') return <MyKubeconfigPage clusterId={query.get('cluster')} />;
  if (path === '/credentials') return <MyCredentialsPage session={session} onSessionTokenRevoked={onSessionTokenRevoked} />;
  if (path === '/principals') return <PrincipalsPage session={session} />;
  const principal = match('/principals/:id', path);
  if (principal) return <PrincipalPage id={principal.id} session={session} onSessionTokenRevoked={onSessionTokenRevoked} />;
  if (path === '/groups') return <GroupsPage />;
  if (path === '/policies') return <PoliciesPage />;
  if (path === '/audit') return <AuditPage query={query} />;
  return (
    <section>
      <h1 tabIndex={-1}>Page not found</h1>
      <p>The console has no page at this address. <Link href="/clusters">Go to the clusters</Link>.</p>
    </section>
  );
}
