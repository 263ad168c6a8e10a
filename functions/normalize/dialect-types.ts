// The result of reading a publish topic in a dialect (see functions/normalize/topic.ts).

export type TopicParse =
  /** `device` is undefined when the sender publishes as itself. */
  | { ok: true; channel: string; device: string | undefined }
  | { ok: false; message: string };
