// The device registry as functions and connectors see it: Drogue Cloud's resource format
// (kind Application / Device, metadata + spec), read-only, with change notification so that
// callers can drop cached decisions. Adapters: connectors/registry (file, later DynamoDB).

export interface Metadata {
  name: string;
  /** For a device: the application it belongs to. */
  application?: string;
  uid?: string;
  creationTimestamp?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A stored password: plain text, or a crypt(3)-style hash. */
export type PasswordCredential =
  | string
  | { plain: string }
  | { bcrypt: string }
  | { sha512: string };

export type Credential =
  | { pass: PasswordCredential }
  | { user: { username: string; password: PasswordCredential; unique?: boolean } }
  | { psk: { key: string; validity?: { notBefore?: string; notAfter?: string } } };

/** `spec.mqtt.dialect`: `{type: 'drogue/v1'}` or `{type: 'plainTopic', devicePrefix?: boolean}`. */
export type MqttDialect =
  | { type: 'drogue/v1' }
  | { type: 'plainTopic'; devicePrefix?: boolean };

export interface ApplicationSpec {
  core?: { disabled?: boolean };
  mqtt?: { dialect?: MqttDialect };
  /** X.509 trust anchors for client certificates: base64 of PEM, as in Drogue. */
  trustAnchors?: { anchors: Array<{ certificate: string }> };
  /** Where the push sink delivers this application's stream. */
  knative?: { endpoint?: { url: string; headers?: Record<string, string>; timeout?: string } };
  [other: string]: unknown;
}

export interface DeviceSpec {
  core?: { disabled?: boolean };
  authentication?: { credentials?: Credential[] };
  gatewaySelector?: { matchNames?: string[] };
  alias?: string[];
  mqtt?: { dialect?: MqttDialect };
  [other: string]: unknown;
}

export interface Application {
  kind: 'Application';
  metadata: Metadata;
  spec: ApplicationSpec;
}

export interface Device {
  kind: 'Device';
  metadata: Metadata & { application: string };
  spec: DeviceSpec;
}

export interface RegistryReader {
  getApplication(name: string): Promise<Application | undefined>;
  /** The device by its exact name. */
  getDevice(application: string, name: string): Promise<Device | undefined>;
  /**
   * The device a client names when it authenticates: its name, one of its `alias` entries, or
   * the username of a `user` credential marked `unique`.
   */
  findDevice(application: string, nameOrAlias: string): Promise<Device | undefined>;
  listApplications(): Promise<Application[]>;
  listDevices(application: string): Promise<Device[]>;
  /** Called after every change that took effect; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
}
