// Public surface of the HTTP device endpoint (connectors/http): create one, let it listen, offer it
// the commands routed to this instance.

export { createHttpEndpoint, type HttpEndpoint, type HttpAddresses, type HttpEndpointStats } from './endpoint.ts';
export { type HttpEndpointOptions } from './options.ts';
