// MQTT over WebSocket (`MOORING_MQTT_WS_PORT`, default 8083): subprotocol `mqtt` on any path
// ([MQTT-6.0.0-3]); a plain HTTP request that is not an upgrade gets 404. Each WebSocket becomes a
// Duplex for the gateway core (binary frames; [MQTT-6.0.0-1] a text frame closes the connection).

import { createServer } from 'node:http';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { startListening, type RunningListener, type StreamHandler } from './tcp.ts';
import { Admission, carriedBy } from '../../net/admission.ts';
import { httpServerOptions, limitHttp } from '../../net/http.ts';

export async function listenWs(handle: StreamHandler, port: number, host?: string, admission: Admission = new Admission()): Promise<RunningListener> {
  // The upgrade request is bounded like any HTTP request (headers within the handshake timeout).
  const limits = { headersTimeoutMs: admission.limits.handshakeTimeoutMs, requestTimeoutMs: admission.limits.handshakeTimeoutMs };
  const server = limitHttp(createServer(httpServerOptions(limits), (_req, res) => {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: MQTT over WebSocket only\n');
  }), limits);
  admission.guard(server);
  const wss = new WebSocketServer({
    server,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false),
  });
  wss.on('connection', (ws, req) => {
    ws.on('message', onTextFrame);
    const stream = createWebSocketStream(ws);
    carriedBy(stream, req.socket);
    const remoteAddress = req.socket.remoteAddress;
    handle(stream, remoteAddress !== undefined ? { remoteAddress } : {});
  });
  const running = await startListening(server, port, host);
  return {
    address: running.address,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((done) => wss.close(() => done()));
      await running.close();
    },
  };
}

/** [MQTT-6.0.0-1] MQTT Control Packets MUST be sent in WebSocket binary data frames. */
function onTextFrame(this: import('ws').WebSocket, _data: unknown, isBinary: boolean): void {
  if (!isBinary) this.close(1003, 'MQTT needs binary frames');
}
