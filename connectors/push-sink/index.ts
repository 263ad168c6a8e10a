// Push delivery to application endpoints: the sink (a bus Subscriber), its HTTP transport, and
// the list of applications that want it.

export { createPushSink, pushEndpointOf, pushTargetsFromRegistry, triggerTimeoutOf, type PushEndpoint, type PushSink, type PushSinkOptions } from './sink.ts';
export { HttpTransport, redactUrl, type HttpTransportOptions, type SendOptions } from './transport.ts';
export { parseDuration } from './duration.ts';
