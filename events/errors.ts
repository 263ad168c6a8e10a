// The error registry of the whole code base (fastify/platformatic style), at the bottom layer so
// every module can use it: each code carries the HTTP status the runtime answers with, the MQTT 5
// PUBACK/PUBREC reason code a gateway answers a refused PUBLISH with, whether a retry may succeed,
// and (for the management API) the `error` name Drogue Cloud's API answers with. docs/errors.md lists the
// same table (a test keeps the two equal, and checks every code is raised somewhere).
//
// Errors are recognised by a brand, not `instanceof`: two copies of this module (a test's, a
// bundled function's) still agree on what a MooringError is.

export const errorCodes = {
  MOORING_INVALID_EVENT: {
    status: 400, mqtt: 0x99, retriable: false,
    summary: 'The event is not a valid CloudEvent, or not of the expected type or shape.',
  },
  MOORING_INVALID_TOPIC: {
    status: 400, mqtt: 0x90, retriable: false,
    summary: 'The topic does not parse in the device\'s dialect.',
  },
  MOORING_REJECTED: {
    status: 406, mqtt: 0x80, retriable: false,
    summary: 'The payload is refused, e.g. a JSON content type whose body does not parse.',
  },
  MOORING_PAYLOAD_TOO_LARGE: {
    status: 413, mqtt: 0x83, retriable: false,
    summary: 'A request body is larger than the endpoint takes (the HTTP device endpoint: 64 KiB); it is not read further.',
  },
  MOORING_INVALID_CONFIG: {
    status: 400, mqtt: 0x83, retriable: false,
    summary: 'A configuration value (environment, dialect, trigger manifest) does not parse.',
  },
  MOORING_TIMEOUT: {
    status: 504, mqtt: 0x80, retriable: true,
    summary: 'An awaited answer did not come in time, e.g. no reply to a request/response command.',
  },
  MOORING_BUS_FULL: {
    status: 503, mqtt: 0x97, retriable: true,
    summary: 'The bus does not take more events now (back-pressure).',
  },
  MOORING_QUOTA_EXCEEDED: {
    status: 429, mqtt: 0x97, retriable: true,
    summary: 'An application or device quota is exceeded (connections, messages/s, bytes/s, commands/s); HTTP answers carry `Retry-After`.',
  },
  MOORING_UNAVAILABLE: {
    status: 503, mqtt: 0x80, retriable: true,
    summary: 'A dependency (Kafka, a subscriber, the bus) is unavailable for now.',
  },
  MOORING_DELIVERY_FAILED: {
    status: 502, mqtt: 0x80, retriable: true,
    summary: 'A delivery attempt to a subscriber failed; `upstreamStatus` is what it answered, if it did.',
  },
  MOORING_INTERNAL: {
    status: 500, mqtt: 0x80, retriable: true,
    summary: 'An unexpected internal failure.',
  },
  MOORING_INVALID_REQUEST: {
    status: 400, mqtt: 0x83, retriable: false, drogue: 'InvalidRequest',
    summary: 'A request is malformed: a name rule, an unknown metadata field, a label selector that does not parse, a command name with MQTT wildcards, a TTL that is not an ISO-8601 duration.',
  },
  MOORING_CONFLICT: {
    status: 409, mqtt: 0x80, retriable: false, drogue: 'Conflict',
    summary: 'A duplicate name or alias, or a uid/resourceVersion precondition that no longer holds.',
  },
  MOORING_NOT_FOUND: {
    status: 404, mqtt: 0x80, retriable: false, drogue: 'NotFound',
    summary: 'The resource does not exist (or is already being deleted), or the caller may not see it.',
  },
  MOORING_REFERENCE_NOT_FOUND: {
    status: 404, mqtt: 0x80, retriable: false, drogue: 'ReferenceNotFound',
    summary: 'The request refers to a resource that does not exist, e.g. a device\'s application.',
  },
  MOORING_FORBIDDEN: {
    status: 403, mqtt: 0x87, retriable: false, drogue: 'Forbidden',
    summary: 'The presented user or device credentials are invalid, or more than one form was presented.',
  },
  MOORING_NOT_AUTHORIZED: {
    status: 403, mqtt: 0x87, retriable: false, drogue: 'NotAuthorized',
    summary: 'The user (or anonymous caller) may not perform this operation, or a device may not act for another (gateway `as`).',
  },
} as const satisfies Record<string, { status: number; mqtt: number; retriable: boolean; summary: string; drogue?: string }>;

export type ErrorCode = keyof typeof errorCodes;

const BRAND = Symbol.for('mooring.error');

export interface MooringErrorOptions {
  cause?: unknown;
  /** The status a subscriber answered (MOORING_DELIVERY_FAILED); absent for a network error. */
  upstreamStatus?: number;
  /** The subscriber's response body, if any (a dead letter's `knativeerrordata`). */
  data?: Uint8Array;
  /** When trying again may succeed (ms): HTTP answers carry it as `Retry-After` (whole seconds). */
  retryAfterMs?: number;
}

export class MooringError extends Error {
  readonly [BRAND] = true;
  readonly code: ErrorCode;
  /** The HTTP status Mooring answers with. */
  readonly status: number;
  /** The MQTT 5 reason code Mooring answers with. */
  readonly mqttReason: number;
  readonly retriable: boolean;
  readonly upstreamStatus: number | undefined;
  readonly data: Uint8Array | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options?: MooringErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MooringError';
    this.code = code;
    const entry = errorCodes[code];
    this.status = entry.status;
    this.mqttReason = entry.mqtt;
    this.retriable = entry.retriable;
    this.upstreamStatus = options?.upstreamStatus;
    this.data = options?.data;
    this.retryAfterMs = options?.retryAfterMs;
  }

  toJSON(): { error: ErrorCode; message: string } {
    return { error: this.code, message: this.message };
  }
}

export function isMooringError(e: unknown, code?: ErrorCode): e is MooringError {
  return typeof e === 'object' && e !== null && (e as { [BRAND]?: unknown })[BRAND] === true
    && (code === undefined || (e as MooringError).code === code);
}

/** A failed delivery attempt: `status` is what the subscriber answered, absent for a network error. */
export function deliveryFailed(message: string, status?: number, options?: { cause?: unknown; data?: Uint8Array }): MooringError {
  return new MooringError('MOORING_DELIVERY_FAILED', message, { ...options, upstreamStatus: status });
}

/** The MQTT 5 reason code for a failure: the registry's for a MooringError, else unspecified (0x80). */
export function mqttReasonFor(e: unknown): number {
  return isMooringError(e) ? e.mqttReason : 0x80;
}

/** The `Retry-After` header value (whole seconds, at least 1) of an error that says when to retry. */
export function retryAfterSeconds(e: MooringError): string | undefined {
  return e.retryAfterMs === undefined ? undefined : String(Math.max(1, Math.ceil(e.retryAfterMs / 1000)));
}
