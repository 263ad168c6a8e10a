// Certificates for the MQTT TLS tests: a server CA and a server certificate for
// 127.0.0.1/localhost, an application CA (the trust anchor) and a device certificate with
// CN=device1 signed by it.

import { makePki, serverExt, type Pki } from './pki.ts';

export type MqttPki = Pki;

export function makeMqttPki(): MqttPki {
  const pki = makePki('mooring-mqtt-pki-');
  pki.ca('server-ca', '/CN=Mooring test server CA');
  pki.sign('server', '/CN=localhost', 'server-ca', serverExt('DNS:localhost,IP:127.0.0.1'));
  pki.ca('app-ca', '/O=Drogue IoT/OU=app1/CN=app1 CA');
  pki.sign('device1', '/O=Drogue IoT/OU=app1/CN=device1', 'app-ca');
  return pki;
}
