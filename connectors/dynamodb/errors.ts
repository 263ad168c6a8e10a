// AWS SDK errors as MooringErrors: a request DynamoDB refuses as malformed (an item over 400 KB,
// a transaction over 4 MB) is MOORING_INVALID_REQUEST; everything else that fails (the network,
// throttling, a missing table, a 5xx) is MOORING_UNAVAILABLE, retriable. Failed conditions are
// not mapped here: the backend knows which write they belong to.

import { isMooringError, MooringError } from '../../events/errors.ts';

interface AwsError {
  name?: string;
  message?: string;
}

/**
 * Runs one DynamoDB request: a failure becomes a MooringError (fromAwsError), except the ones
 * `keep` names (failed conditions, which the caller judges), rethrown as they are.
 */
export async function request<T>(doing: string, run: () => Promise<T>, keep: (err: unknown) => boolean = () => false): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (keep(err)) throw err;
    throw fromAwsError(err, doing);
  }
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
