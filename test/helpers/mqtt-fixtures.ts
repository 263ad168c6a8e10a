// Shared fixtures of the MQTT gateway tests: a registry with an application, devices, a gateway
// and the dialects, a recording bus, and a gateway whose connections are in-memory duplex pairs.

import type { Packet, IConnackPacket } from 'mqtt-packet';
import { createMqttGateway, type MqttGateway, type MqttGatewayOptions } from '../../connectors/mqtt/index.ts';
import type { ConnectionInfo } from '../../connectors/mqtt/core.ts';
import { app, device, memoryRegistry, type MemoryRegistry } from './memory-registry.ts';
import { RecordingBus } from './mqtt-recording-bus.ts';
import { duplexPair, TestClient } from './mqtt-duplex.ts';
import type { Application, Device } from '../../functions/ports/registry.ts';

const pass = (pw: string): Device['spec'] => ({ authentication: { credentials: [{ pass: pw }] } });

export function mqttDocs(): Array<Application | Device> {
  return [
    app('app1'),
    app('plain', { mqtt: { dialect: { type: 'plainTopic' } } }),
    app('prefixed', { mqtt: { dialect: { type: 'plainTopic', devicePrefix: true } } }),
    device('app1', 'device1', pass('hey')),
    device('app1', 'gateway1', pass('gw')),
    device('app1', 'device2', { gatewaySelector: { matchNames: ['gateway1'] } }),
    device('app1', 'device3', {}),
    device('app1', 'plaindev', { ...pass('hey'), mqtt: { dialect: { type: 'plainTopic' } } }),
    device('app1', 'baddialect', { ...pass('hey'), mqtt: { dialect: { type: 'nope' } as never } }),
    device('app1', 'userdev', { authentication: { credentials: [{ user: { username: 'alice', password: 'pw' } }] } }),
    device('app1', 'off', { ...pass('hey'), core: { disabled: true } }),
    device('plain', 'dev', pass('hey')),
    device('prefixed', 'gw', pass('hey')),
    device('prefixed', 'sensor', { gatewaySelector: { matchNames: ['gw'] } }),
  ];
}

export interface MqttFixture {
  gw: MqttGateway & { sweepNow(): void; revoked(): Promise<void> };
  bus: RecordingBus;
  registry: MemoryRegistry;
  /** A raw client over an in-memory pair (not connected yet). */
  client(version?: 4 | 5, info?: ConnectionInfo): TestClient;
  /** A client that sent CONNECT and got CONNACK; throws unless it was accepted. */
  connected(username: string, password: string, version?: 4 | 5, extra?: Partial<Packet>): Promise<TestClient>;
  close(): Promise<void>;
}

export function mqttFixture(options: Partial<MqttGatewayOptions> = {}, docs = mqttDocs()): MqttFixture {
  const bus = new RecordingBus();
  const registry = memoryRegistry(docs);
  const gw = createMqttGateway({ bus, registry, ...options });
  const clients: TestClient[] = [];
  const client = (version: 4 | 5 = 4, info: ConnectionInfo = { remoteAddress: 'test' }): TestClient => {
    const [server, near] = duplexPair();
    gw.handle(server, info);
    const c = new TestClient(near, version);
    clients.push(c);
    return c;
  };
  return {
    gw, bus, registry, client,
    async connected(username, password, version = 4, extra = {}) {
      const c = client(version);
      c.send(connectPacket(version, { username, password: Buffer.from(password), ...extra }));
      const ack = await c.next() as IConnackPacket | undefined;
      const code = version === 5 ? ack?.reasonCode : ack?.returnCode;
      if (ack?.cmd !== 'connack' || code !== 0) throw new Error(`connect refused: ${JSON.stringify(ack)}`);
      return c;
    },
    async close() {
      for (const c of clients) c.destroy();
      await gw.close();
    },
  };
}

export function connectPacket(version: 4 | 5, extra: Partial<Packet> = {}): Packet {
  return {
    cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, clientId: 'test', keepalive: 0,
    ...extra,
  } as Packet;
}
