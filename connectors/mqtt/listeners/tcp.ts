// Plain MQTT over TCP (`MOORING_MQTT_PORT`, default 1883): every socket goes to the gateway core.

import { createServer, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ConnectionInfo } from '../core.ts';
import type { Admission } from '../../net/admission.ts';

export interface RunningListener {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

export type StreamHandler = (stream: Duplex, info: ConnectionInfo) => void;

/**
 * No per-connection info object: the session reads the peer address from the socket when it logs
 * (reading `remoteAddress` here would make node cache a peer-name object on every idle socket).
 */
const NO_INFO: ConnectionInfo = Object.freeze({});

export function listenTcp(handle: StreamHandler, port: number, host: string | undefined, admission: Admission): Promise<RunningListener> {
  const server = createServer({ noDelay: true }, (socket: Socket) => {
    if (!socket.destroyed) handle(socket, NO_INFO);
  });
  admission.guard(server);
  return startListening(server, port, host);
}

/** Listens, resolves with the bound address and a close that also ends open connections. */
export function startListening(server: import('node:net').Server, port: number, host?: string): Promise<RunningListener> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({
        address: server.address() as AddressInfo,
        close: () => new Promise<void>((done) => {
          server.close(() => done());
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        }),
      });
    });
  });
}
