// Where an io.drogue.event.v1 is in Mooring's pipeline, so that Triggers chain functions without
// loops (see knative/triggers.yaml). normalize replies io.drogue.event.v1 carrying
// `mooringstage: normalized`; content-type sees only those and replies with the extension removed,
// which makes the event final: exactly Drogue's attributes, the only form push Triggers select.

/** Extension naming the pipeline stage of a not yet final io.drogue.event.v1. */
export const STAGE_EXTENSION = 'mooringstage';

export const Stage = {
  /** Set by normalize; content-type removes it. */
  normalized: 'normalized',
} as const;
