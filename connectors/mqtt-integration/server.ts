// The MQTT integration (Drogue's mqtt-integration): applications consume their stream over MQTT
// (`app/{app}`, shared groups, QoS 0/1, structured or v5 binary CloudEvents) and send commands
// (`command/{app}/{device}/{command}`). It is not a second MQTT server: connections are the device
// gateway's sessions (connectors/mqtt/session.ts: framing, flow control, keep-alive, ending), its
// listeners and its sweep (connectors/mqtt/host.ts); only the dispatcher differs — CONNECT,
// SUBSCRIBE, UNSUBSCRIBE, PUBLISH and PUBACK are the integration's (./connect.ts, ./handlers.ts),
// every other packet and every protocol-order rule goes to the gateway's (handlers/index.ts).

import type { Duplex } from 'node:stream';
import type { Packet } from 'mqtt-packet';
import type { EventBus } from '../../functions/ports/bus.ts';
import type { RegistryReader } from '../../functions/ports/registry.ts';
import type { Logger } from '../../functions/ports/runtime.ts';
import type { ConnectionInfo, GatewayStats } from '../mqtt/core.ts';
import type { GatewayCore, SessionContext } from '../mqtt/context.ts';
import { dispatch as gatewayDispatch } from '../mqtt/handlers/index.ts';
import { End } from '../mqtt/ending.ts';
import { startListeners, sweepSessions, type ListenerAddresses } from '../mqtt/host.ts';
import type { RunningListener } from '../mqtt/listeners/tcp.ts';
import { resolveOptions, type ListenerOptions, type ResolvedOptions } from '../mqtt/options.ts';
import { Session } from '../mqtt/session.ts';
import { NEW } from '../mqtt/state.ts';
import type { StreamSource } from '../stream/source.ts';
import { connect } from './connect.ts';
import { Connection } from './connection.ts';
import { publish, subscribe, unsubscribe, type HandlerPorts } from './handlers.ts';
import type { IntegrationAuth, SendCommand } from './types.ts';

export interface MqttIntegrationOptions {
  /** The session machinery's ports (the integration publishes nothing to the bus itself). */
  bus: EventBus;
  registry: RegistryReader;
  source: StreamSource;
  auth: IntegrationAuth;
  /** "Send command"; without it command PUBLISHes are refused (0x83). */
  sendCommand?: SendCommand | undefined;
  logger?: Logger;
  maxPacketSize?: number;
  maxConnections?: number;
  /** The outgoing queue's bound (bytes) and stall timeout (ms) of a connection; see MqttGatewayOptions. */
  maxWriteBuffer?: number;
  writeStallMs?: number;
  /** TCP `MOORING_MQTT_INTEGRATION_PORT` (18883), TLS 18884 with a certificate, WebSocket 18083. */
  listeners?: ListenerOptions;
}

export const INTEGRATION_PORTS = { port: 18883, tlsPort: 18884, wsPort: 18083 } as const;

export interface MqttIntegration {
  handle(stream: Duplex, info?: ConnectionInfo): void;
  listen(): Promise<ListenerAddresses>;
  close(): Promise<void>;
  readonly stats: Readonly<GatewayStats>;
}

class Integration implements GatewayCore, MqttIntegration {
  readonly opts: ResolvedOptions;
  tick = 0;
  readonly epoch = 0;
  readonly stats: GatewayStats = {
    connections: 0, connectsAccepted: 0, connectsRefused: 0, publishesAccepted: 0, publishesRefused: 0,
    publishesDropped: 0, commandsDelivered: 0, protocolErrors: 0, takeovers: 0, willsPublished: 0,
  };
  private readonly all = new Set<Session>();
  private readonly connections = new Map<SessionContext, Connection>();
  private readonly ports: HandlerPorts;
  private timer: NodeJS.Timeout | undefined;
  private listeners: RunningListener[] = [];
  private closed = false;

  constructor(options: MqttIntegrationOptions) {
    this.opts = resolveOptions({
      bus: options.bus, registry: options.registry, logger: options.logger, maxPacketSize: options.maxPacketSize,
      maxConnections: options.maxConnections, listeners: options.listeners,
      maxWriteBuffer: options.maxWriteBuffer, writeStallMs: options.writeStallMs,
      // TLS-PSK is for devices; the integration's TLS listener offers none (as Drogue's).
      pskKeyFor: async () => undefined,
    });
    this.ports = { auth: options.auth, source: options.source, sendCommand: options.sendCommand, logger: this.opts.logger };
  }

  readonly dispatch = (s: SessionContext, packet: Packet): void | Promise<void> => {
    if (s.state === NEW) return packet.cmd === 'connect' ? this.onConnect(s as Session, packet) : gatewayDispatch(s, packet);
    const c = this.connections.get(s);
    if (c !== undefined) {
      switch (packet.cmd) {
        case 'subscribe': return subscribe(this.ports, c, packet);
        case 'unsubscribe': return unsubscribe(c, packet);
        case 'publish': return publish(this.ports, c, packet);
        case 'puback': return c.puback(packet.messageId);
        default: break;
      }
    }
    return gatewayDispatch(s, packet);
  };

  private async onConnect(s: Session, packet: import('mqtt-packet').IConnectPacket): Promise<void> {
    const connected = await connect(s, packet, this.ports.auth);
    if (connected === undefined) return;
    const clientMaxPacket = s.v5 ? (packet.properties?.maximumPacketSize ?? 0) : 0;
    this.connections.set(s, new Connection(s, connected, this.opts.maxWriteBuffer, clientMaxPacket));
  }

  // ---- the session core: no devices here ---------------------------------------------------

  sessionOf(): undefined { return undefined; }
  register(): void { /* sessions are not indexed by device */ }
  unregister(s: SessionContext): void {
    if (!this.all.delete(s as Session)) return;
    this.stats.connections--;
    this.connections.get(s)?.close();
    this.connections.delete(s);
  }
  rememberDevice(): void { /* no device documents */ }
  addDeviceSubscriber(): void { /* no command inboxes */ }
  removeDeviceSubscriber(): void { /* no command inboxes */ }
  atCapacity(): boolean { return this.stats.connections > this.opts.maxConnections; }
  claim(): Promise<boolean> { return Promise.resolve(true); }
  ended(): void { /* no connection directory */ }
  subscribed(): Promise<void> { return Promise.resolve(); }
  forwardReply(): undefined { return undefined; /* devices answer commands at the gateway */ }

  // ---- connections, listeners --------------------------------------------------------------

  handle(stream: Duplex, info?: ConnectionInfo): void {
    if (this.closed) { stream.destroy(); return; }
    this.all.add(new Session(this, stream, info));
    this.stats.connections++;
    this.timer ??= setInterval(() => sweepSessions(this.all, ++this.tick, this.opts), this.opts.timerResolutionMs).unref();
  }

  async listen(): Promise<ListenerAddresses> {
    const { addresses, running } = await startListeners((stream, info) => this.handle(stream, info), this.opts.listeners, INTEGRATION_PORTS, this.opts);
    this.listeners.push(...running);
    return addresses;
  }

  async close(): Promise<void> {
    this.closed = true;
    const stopping = this.listeners.map((l) => l.close());
    this.listeners = [];
    await Promise.all([...this.all].map((s) => s.end(End.serverShutdown, 'integration shutting down')));
    await Promise.all(stopping);
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}

export function createMqttIntegration(options: MqttIntegrationOptions): MqttIntegration {
  return new Integration(options);
}
