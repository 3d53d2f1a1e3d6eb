/**
 * A loopback TCP proxy that can silently stall: freeze() stops forwarding on every connection
 * open at that moment without closing it (the failure mode of a watch behind a dead NAT or
 * load balancer), while new connections keep working.
 */
import net from 'node:net';

export interface TcpProxy {
  port: number;
  freeze(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(
  targetPort: number,
  targetHost = '127.0.0.1',
): Promise<TcpProxy> {
  const open = new Set<[net.Socket, net.Socket]>();
  const stalled: net.Socket[] = [];
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    open.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      open.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    freeze() {
      for (const [client, upstream] of open) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
        stalled.push(client, upstream);
      }
      const frozen = open.size;
      open.clear();
      return frozen;
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of stalled) socket.destroy();
        for (const [client, upstream] of open) {
          client.destroy();
          upstream.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
