// AWS SDK errors as MooringErrors: a request DynamoDB refuses as malformed (an item over 400 KB,
// a transaction over 4 MB) is MOORING_INVALID_REQUEST; everything else that fails (the network,
// throttling, a missing table, a 5xx) is MOORING_UNAVAILABLE, retriable. Failed conditions are
// not mapped here: the backend knows which write they belong to.

import { isMooringError, MooringError } from '../../events/errors.ts';

interface AwsError {
  name?: string;
  message?: string;
}

export function fromAwsError(err: unknown, doing: string): MooringError {
  if (isMooringError(err)) return err;
  const e = (err ?? {}) as AwsError;
  const what = `${e.name ?? 'Error'}: ${e.message ?? String(err)}`;
  if (e.name === 'ValidationException') {
    return new MooringError('MOORING_INVALID_REQUEST', `DynamoDB refused ${doing}: ${what}`, { cause: err });
  }
  return new MooringError('MOORING_UNAVAILABLE', `DynamoDB is unavailable (${doing}): ${what}`, { cause: err });
}
