// MQTT on raw sockets for the load generator: mqtt-packet generates every packet once (they are
// reused as byte buffers on the hot path), and incoming bytes are split by a minimal fixed-header
// scanner. A full parse of every received PUBLISH would make the generator, not the system under
// test, the bottleneck; the scanner reads only what the scenarios need (type, packet id, codes).

import net from 'node:net';
import mqtt from 'mqtt-packet';

/** MQTT control packet types (MQTT 3.1.1 §2.2.1, table 2.1). */
export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const SUBACK = 9;

export interface Credentials {
  clientId: string;
  username?: string;
  password?: string;
}

/** A 100-byte (or `size`-byte) JSON document, so a system that sniffs content types sees JSON. */
export function jsonPayload(size: number): Buffer {
  const head = '{"temp":21.5,"pad":"';
  const tail = '"}';
  const pad = Math.max(0, size - head.length - tail.length);
  return Buffer.from(head + 'x'.repeat(pad) + tail);
}

export function connectPacket(c: Credentials, keepalive = 0): Buffer {
  return mqtt.generate({
    cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive,
    clientId: c.clientId,
    ...(c.username !== undefined ? { username: c.username } : {}),
    ...(c.password !== undefined ? { password: Buffer.from(c.password) } : {}),
  });
}

export function publishPacket(topic: string, payload: Buffer, qos: 0 | 1, messageId?: number): Buffer {
  return mqtt.generate({
    cmd: 'publish', topic, payload, qos, retain: false, dup: false,
    ...(qos > 0 ? { messageId: messageId ?? 1 } : {}),
  });
}

export function subscribePacket(filter: string, qos: 0 | 1): Buffer {
  return mqtt.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos }] });
}

/** Offset of the 2-byte packet identifier inside a QoS 1 PUBLISH built by `publishPacket`. */
export function messageIdOffset(packet: Buffer): number {
  // fixed header: 1 byte + remaining length (1–4 bytes); then topic length (2) + topic.
  let i = 1;
  while ((packet[i]! & 0x80) !== 0) i++;
  i++;
  const topicLength = packet.readUInt16BE(i);
  return i + 2 + topicLength;
}

export type FrameHandler = (type: number, body: Buffer, start: number, end: number) => void;

/**
 * Splits a byte stream into MQTT packets (MQTT 3.1.1 §2.2: type in the high nibble of byte 1,
 * then the variable-length Remaining Length) and calls `onFrame` with the body's bounds.
 */
export class FrameScanner {
  private pending: Buffer | undefined;
  constructor(private readonly onFrame: FrameHandler) {}

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    let pos = 0;
    const n = buf.length;
    while (pos < n) {
      if (n - pos < 2) break;
      let len = 0;
      let mul = 1;
      let i = pos + 1;
      let complete = false;
      for (let k = 0; k < 4 && i < n; k++, i++) {
        const b = buf[i]!;
        len += (b & 0x7f) * mul;
        mul *= 128;
        if ((b & 0x80) === 0) { complete = true; i++; break; }
      }
      if (!complete || i + len > n) break;
      this.onFrame(buf[pos]! >> 4, buf, i, i + len);
      pos = i + len;
    }
    if (pos < n) this.pending = buf.subarray(pos);
  }
}

/** Opens a TCP connection to the system under test (always on 127.0.0.1). */
export function openSocket(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    socket.once('connect', () => { socket.off('error', reject); resolve(socket); });
    socket.once('error', reject);
  });
}

/** Resolves when the socket's write buffer has drained (or at once when it has room). */
export function drained(socket: net.Socket): Promise<void> {
  if (!socket.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onDrain = (): void => { socket.off('close', onClose); resolve(); };
    const onClose = (): void => { socket.off('drain', onDrain); reject(new Error('socket closed while writing')); };
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  });
}

export interface MqttConnection {
  socket: net.Socket;
  /** Called for every frame after CONNACK. */
  onFrame: FrameHandler;
}

/**
 * Connects and completes the MQTT handshake. Rejects when the CONNACK return code is not 0
 * (MQTT 3.1.1 §3.2.2.3) or the connection closes first.
 */
export async function mqttConnect(port: number, credentials: Credentials, timeoutMs: number): Promise<MqttConnection> {
  const socket = await openSocket(port);
  const conn: MqttConnection = { socket, onFrame: () => {} };
  await new Promise<void>((resolve, reject) => {
    let connected = false;
    const timer = setTimeout(() => fail(new Error('CONNACK timeout')), timeoutMs);
    const fail = (e: Error): void => { clearTimeout(timer); socket.destroy(); reject(e); };
    const scanner = new FrameScanner((type, body, start, end) => {
      if (connected) { conn.onFrame(type, body, start, end); return; }
      if (type !== CONNACK) { fail(new Error(`expected CONNACK, got packet type ${type}`)); return; }
      const code = body[start + 1];
      if (code !== 0) { fail(new Error(`CONNACK return code ${code}`)); return; }
      connected = true;
      clearTimeout(timer);
      socket.off('error', fail);
      socket.off('close', onClose);
      resolve();
    });
    const onClose = (): void => fail(new Error('closed before CONNACK'));
    socket.on('data', (chunk: Buffer) => scanner.push(chunk));
    socket.once('error', fail);
    socket.once('close', onClose);
    socket.write(connectPacket(credentials));
  });
  socket.on('error', () => {});
  return conn;
}

/** Subscribes and resolves on SUBACK; frames after it go to `conn.onFrame` as set by the caller. */
export function mqttSubscribe(conn: MqttConnection, filter: string, qos: 0 | 1, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('SUBACK timeout')), timeoutMs);
    const previous = conn.onFrame;
    conn.onFrame = (type, body, start, end) => {
      if (type === SUBACK) {
        clearTimeout(timer);
        conn.onFrame = previous;
        const granted = body[start + 2];
        if (granted === 0x80) reject(new Error(`SUBACK refused ${filter}`));
        else resolve();
        return;
      }
      previous(type, body, start, end);
    };
    conn.socket.write(subscribePacket(filter, qos));
  });
}
