// The authz tests' PKI: a CA per application, leaves signed by them, an intermediate CA, and a CA
// no application trusts. CAs are valid for 30 days, leaves 10, from now-1d as openssl makes them;
// tests move the injected clock to leave that window.

import { INTERMEDIATE_EXT, makePki as makeTestPki, type Pki } from '../../helpers/pki.ts';

export type { Pki };

export function makePki(): Pki {
  const pki = makeTestPki();
  pki.ca('ca1', '/O=Drogue IoT/OU=app1/CN=app1 CA');
  pki.sign('device1', '/O=Drogue IoT/OU=app1/CN=device1', 'ca1');
  pki.sign('aliased', '/O=Drogue IoT/OU=app1/CN=aliased', 'ca1');
  pki.sign('nobody', '/O=Drogue IoT/OU=app1/CN=nobody', 'ca1');
  pki.sign('inter', '/O=Drogue IoT/OU=app1/CN=app1 intermediate', 'ca1', INTERMEDIATE_EXT);
  pki.sign('device2', '/O=Drogue IoT/OU=app1/CN=device2', 'inter');
  pki.ca('rogue', '/O=Rogue/CN=rogue CA');
  pki.sign('forged', '/O=Drogue IoT/OU=app1/CN=device1', 'rogue');
  pki.ca('ca2', '/O=Drogue IoT/OU=app2/CN=app2 CA');
  pki.sign('device3', '/CN=device3', 'ca2');
  return pki;
}
