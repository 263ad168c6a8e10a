// Public surface of the MQTT gateway (connectors/mqtt): create one, hand it streams or let it
// listen, deliver commands through it.

export { createMqttGateway, type MqttGateway, type CommandProperties, type GatewayAddresses } from './gateway.ts';
export { type MqttGatewayOptions, type ListenerOptions, type Authenticate, type AuthorizeAs, type PskKeyFor } from './options.ts';
export type { ConnectionInfo, TlsInfo, GatewayStats } from './core.ts';
export { parseCommandFilter, commandTopic } from './commands.ts';
