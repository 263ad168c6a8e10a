export { createMqttIntegration, INTEGRATION_PORTS, type MqttIntegration, type MqttIntegrationOptions } from './server.ts';
export type { IntegrationAuth, IntegrationUser, Permission, Access, SendCommand } from './types.ts';
