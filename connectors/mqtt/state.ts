// The life of one MQTT session, in the order it is lived. Its own module so the session, the
// dispatcher and every handler can name the states without importing each other.

/** Connection accepted, nothing received yet: only CONNECT may come [MQTT-3.1.0-1]. */
export const NEW = 0;
/** CONNECT being processed (authentication, takeover); input is held meanwhile. */
export const CONNECTING = 1;
/** CONNACK 0x00 sent: the device's packets are taken. */
export const CONNECTED = 2;
/** Ended: nothing more is read or written. */
export const CLOSED = 3;

export type SessionState = typeof NEW | typeof CONNECTING | typeof CONNECTED | typeof CLOSED;
