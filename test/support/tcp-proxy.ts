// A TCP proxy between a server and PostgreSQL that can freeze the connections it holds: no byte either way,
// no FIN, no RST, as after a failover, a vanished host or dropped NAT/firewall state (a half-open session).
// Connections opened after a freeze are forwarded normally, as to a healthy standby.

import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** Freezes every connection open now; later ones are forwarded. */
  freezeExisting(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const live = new Set<{ client: net.Socket; upstream: net.Socket }>();
  const frozen: net.Socket[] = [];
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    const pair = { client, upstream };
    live.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      live.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    freezeExisting() {
      let n = 0;
      for (const pair of live) {
        // Stop forwarding and reading either way; the sockets stay open and say nothing.
        pair.client.unpipe(pair.upstream);
        pair.upstream.unpipe(pair.client);
        pair.client.pause();
        pair.upstream.pause();
        pair.client.removeAllListeners('close');
        frozen.push(pair.client, pair.upstream);
        n++;
      }
      live.clear();
      return n;
    },
    async close() {
      for (const s of frozen) s.destroy();
      for (const { client, upstream } of live) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
