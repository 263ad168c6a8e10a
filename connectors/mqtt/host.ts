// What every MQTT server of Mooring does around its sessions, whatever it serves: the device
// gateway (./gateway.ts) and the MQTT integration (connectors/mqtt-integration) both keep their
// sessions' CONNECT deadline and keep-alive with `sweepSessions` and open their TCP, TLS and
// WebSocket listeners with `startListeners`.

import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ConnectionInfo } from './core.ts';
import { End } from './ending.ts';
import type { ListenerOptions, ResolvedOptions } from './options.ts';
import type { Session } from './session.ts';
import { CONNECTED } from './state.ts';
import { listenTcp, type RunningListener } from './listeners/tcp.ts';
import { listenTls } from './listeners/tls.ts';
import { listenWs } from './listeners/ws.ts';
import { Admission } from '../net/admission.ts';

/** One pass over the sessions at tick `t`: CONNECT deadline, keep-alive (1.5 × Keep Alive), write stall. */
export function sweepSessions(sessions: Iterable<Session>, t: number, opts: Pick<ResolvedOptions, 'connectTimeoutMs' | 'timerResolutionMs' | 'writeStallMs'>): void {
  const connectTicks = Math.ceil(opts.connectTimeoutMs / opts.timerResolutionMs);
  const stallTicks = Math.ceil(opts.writeStallMs / opts.timerResolutionMs);
  for (const s of sessions) {
    if (s.state === CONNECTED) {
      if (s.keepAliveTicks > 0 && t - s.lastTick > s.keepAliveTicks && !s.isBlocked) {
        void s.end(End.keepAliveTimeout, 'keep-alive expired');
      } else if (writeStalled(s, t, stallTicks)) {
        void s.end(End.slowConsumer, `outgoing queue not flushed for ${opts.writeStallMs} ms`);
      }
    } else if (t - s.createdTick > connectTicks) {
      void s.end(End.aborted, 'no CONNECT within the connect timeout');
    }
  }
}

/** True when the outgoing queue has held bytes without shrinking for more than `stallTicks` ticks (the client stopped reading). */
function writeStalled(s: Session, t: number, stallTicks: number): boolean {
  const n = s.backlog;
  if (n === 0 || n < s.queueMark || s.queueMark === 0) {
    s.queueMark = n;
    s.queueTick = t;
    return false;
  }
  s.queueMark = n;
  return t - s.queueTick > stallTicks;
}

export interface ListenerAddresses {
  mqtt?: AddressInfo;
  mqtts?: AddressInfo;
  ws?: AddressInfo;
}

/**
 * Opens the configured listeners (TCP; TLS when a certificate and key are given; WebSocket), each
 * handing its streams to `handle`; `defaults` are the ports used when `listeners` names none.
 */
export async function startListeners(
  handle: (stream: Duplex, info: ConnectionInfo) => void,
  l: Readonly<ListenerOptions>,
  defaults: { port: number; tlsPort: number; wsPort: number },
  opts: ResolvedOptions,
): Promise<{ addresses: ListenerAddresses; running: RunningListener[] }> {
  const addresses: ListenerAddresses = {};
  const running: RunningListener[] = [];
  const admission = l.admission ?? new Admission({}, opts.logger);
  try {
    if (l.port !== false) {
      const srv = await listenTcp(handle, l.port ?? defaults.port, l.host, admission);
      running.push(srv);
      addresses.mqtt = srv.address;
    }
    if (l.tlsPort !== false && l.tls?.cert !== undefined && l.tls.key !== undefined) {
      const srv = await listenTls(handle, l.tlsPort ?? defaults.tlsPort, l.host, l.tls, opts, admission);
      running.push(srv);
      addresses.mqtts = srv.address;
    }
    if (l.wsPort !== false) {
      const srv = await listenWs(handle, l.wsPort ?? defaults.wsPort, l.host, admission);
      running.push(srv);
      addresses.ws = srv.address;
    }
  } catch (e) {
    await Promise.all(running.map((r) => r.close()));
    throw e;
  }
  return { addresses, running };
}
