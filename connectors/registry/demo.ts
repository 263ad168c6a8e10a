// The demo registry written on first start when no registry file is configured: one application
// and one device with a password, plus a sensor in the seed's short form that the demo device
// may publish for (a gateway). The constants are exported for the CLI's "how to try it" text.

import { randomUUID } from 'node:crypto';

export const DEMO_APPLICATION = 'demo-app';
export const DEMO_DEVICE = 'demo-device';
export const DEMO_PASSWORD = 'demo-secret';
/** The demo user (id = username) who owns the demo application; its access token is printed at start-up. */
export const DEMO_USER = 'demo';
/** A device without credentials that lists DEMO_DEVICE as its gateway. */
export const DEMO_GATEWAY_CHILD = 'demo-sensor';

/** Registry uids, as Drogue's registry gives every resource (events carry them). */
export function demoRegistryYaml(opts: { endpoint?: string; newUid?: () => string } = {}): string {
  const uid = opts.newUid ?? randomUUID;
  const knative = opts.endpoint
    ? `  knative:\n    endpoint:\n      url: ${JSON.stringify(opts.endpoint)}\n`
    : `  # knative:\n  #   endpoint:\n  #     url: http://localhost:8081/   # where the push sink delivers this app's events\n`;
  return `# Mooring registry (Drogue Cloud resource format). Edits take effect without a restart;
# an invalid edit is refused (see the log) and the last good registry stays in force.
kind: Application
metadata:
  name: ${DEMO_APPLICATION}
  uid: ${uid()}
# Who may manage it through the API (drg, curl): its owner, and members by role.
access:
  owner: ${DEMO_USER}
spec:
${knative}---
kind: Device
metadata:
  name: ${DEMO_DEVICE}
  application: ${DEMO_APPLICATION}
  uid: ${uid()}
spec:
  authentication:
    credentials:
      - pass: ${DEMO_PASSWORD}
---
# The short form from the Drogue documentation: a device that ${DEMO_DEVICE} may publish for.
name: ${DEMO_GATEWAY_CHILD}
application: ${DEMO_APPLICATION}
credentials: {}
gatewaySelector:
  matchNames:
    - ${DEMO_DEVICE}
`;
}
