// The event types of Mooring and the extension names they carry (see ../shared/ARCHITECTURE.md).
// io.drogue.* events are byte-for-byte Drogue Cloud's; io.mooring.* are Mooring's own.

export const EventTypes = {
  /** Raw publish from a device connector (MQTT, HTTP), before normalization. */
  publish: 'io.mooring.publish.v1',
  /** A normalized device event, identical to Drogue Cloud's. */
  deviceEvent: 'io.drogue.event.v1',
  /** A device connection came or went: data `{"connected": bool}`. */
  connection: 'io.drogue.connection.v1',
  /** A command for one device, from an application. */
  command: 'io.mooring.command.v1',
  /** A device's reply to a request/response command, on its way to the instance waiting for it. */
  commandReply: 'io.mooring.command.reply.v1',
  /** Registry change notification in an application's stream. */
  registry: 'io.drogue.registry.v1',
  /** A change of an application in the registry (Drogue's registry topic), one per changed path. */
  registryChangeApplication: 'io.drogue.registry.change.application',
  /** A change of a device in the registry, one per changed path. */
  registryChangeDevice: 'io.drogue.registry.change.device',
} as const;

export type EventType = (typeof EventTypes)[keyof typeof EventTypes];

/**
 * Extensions of io.mooring.publish.v1. The payload is the event's data; MQTT metadata rides in
 * extensions so that the binary-mode bindings carry it as headers, never re-encoding the payload.
 */
export const PublishExt = {
  application: 'application',
  /** The authenticated device that sent the message (the gateway, for gateway traffic). */
  sender: 'sender',
  /** The MQTT topic (or HTTP channel path) as received. */
  topic: 'topic',
  qos: 'qos',
  retain: 'retain',
  /** Dialect resolved at connect time, e.g. `drogue/v1`, `plainTopic`, `plainTopic;prefix`. */
  dialect: 'dialect',
  /** MQTT 5 payload format indicator: 0 bytes, 1 UTF-8. */
  payloadformat: 'payloadformat',
  /** MQTT 5 user properties, JSON array of [key, value] pairs (order and duplicates kept). */
  userproperties: 'userproperties',
  /** Optional data schema given by the device (HTTP `data_schema`). */
  dataschema: 'dataschema',
  /** Target device for HTTP publishes (`device` / `as`) already resolved by the connector. */
  device: 'device',
  partitionkey: 'partitionkey',
  /** The registry uid of the application, when the registry has one (Drogue always sets it). */
  applicationuid: 'applicationuid',
  /** The registry uid of the sender, when the registry has one. */
  senderuid: 'senderuid',
  /** Which protocol endpoint produced it: mqtt, http. */
  endpoint: 'endpoint',
  /** RFC 3339: the time the device's network reported (a TTN uplink's); normalize makes it the event's `time`. */
  eventtime: 'eventtime',
} as const;

/** Request/reply events of the authz function when it runs as a Knative Service (JSON data). */
export const AuthzEventTypes = {
  /** data: AuthenticateRequest (password as string, certificates as PEM). */
  authnRequest: 'io.mooring.authn.request.v1',
  /** data: `{ok: true, application, device}` (documents without credentials) or `{ok: false, reason, message}`. */
  authnResponse: 'io.mooring.authn.response.v1',
  /** data: AuthorizeAsRequest `{application, sender, device}`. */
  authzRequest: 'io.mooring.authz.request.v1',
  /** data: `{ok: true, device}` or `{ok: false, reason, message}`. */
  authzResponse: 'io.mooring.authz.response.v1',
} as const;

/** Extensions of io.mooring.command.v1. */
export const CommandExt = {
  application: 'application',
  /** The device the command is addressed to. */
  device: 'device',
  /** The command name (`?command=`). */
  command: 'command',
  /** The connection to deliver to when it is not the device itself: a gateway listed in the device's gatewaySelector. */
  target: 'target',
  partitionkey: 'partitionkey',
  /** Set by command-dispatch on a routed command: the instance holding the target's connection (its delivery Trigger selects it). */
  holder: 'mooringholder',
  /** The opt-in offline queue: RFC 3339 time until which the command may wait for its connection. */
  expires: 'mooringexpires',
  /** Request/response: the id the device's reply names (`command/reply/<id>`). */
  request: 'mooringrequest',
  /** Request/response: the instance waiting for the reply (a reply taken elsewhere is routed to it). */
  replyTo: 'mooringreplyto',
} as const;
