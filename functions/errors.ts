// One error class for the whole code base, with a registry of codes (fastify/platformatic style):
// each code carries the HTTP status the runtime answers with and whether a retry may succeed.

export const errorCodes = {
  /** The event is not a valid CloudEvent or not of the expected type/shape. */
  MOORING_INVALID_EVENT: { status: 400, retriable: false },
  /** The topic does not parse in the device's dialect (MQTT v5 0x90). */
  MOORING_INVALID_TOPIC: { status: 400, retriable: false },
  /** The payload is rejected, e.g. a JSON content type whose body does not parse (v5 0x80). */
  MOORING_REJECTED: { status: 406, retriable: false },
  /** Authentication failed: unknown application/device or bad credentials. */
  MOORING_NOT_AUTHENTICATED: { status: 403, retriable: false },
  /** The sender may not act for that device, or it is disabled (v5 0x87). */
  MOORING_NOT_AUTHORIZED: { status: 403, retriable: false },
  /** The application or device does not exist. */
  MOORING_NOT_FOUND: { status: 404, retriable: false },
  /** The configured dialect does not parse. */
  MOORING_INVALID_CONFIG: { status: 400, retriable: false },
  /** The bus does not take more events now (v5 0x97, HTTP 503). */
  MOORING_BUS_FULL: { status: 503, retriable: true },
  /** A dependency is unavailable for now. */
  MOORING_UNAVAILABLE: { status: 503, retriable: true },
  MOORING_INTERNAL: { status: 500, retriable: true },
} as const;

export type ErrorCode = keyof typeof errorCodes;

export class MooringError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MooringError';
    this.code = code;
    this.status = errorCodes[code].status;
    this.retriable = errorCodes[code].retriable;
  }

  toJSON(): { error: ErrorCode; message: string } {
    return { error: this.code, message: this.message };
  }
}

export function isMooringError(e: unknown, code?: ErrorCode): e is MooringError {
  return e instanceof MooringError && (code === undefined || e.code === code);
}
