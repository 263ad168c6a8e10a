export { QuotaLimiter, QuotaTicket, QUOTA_KINDS, QUOTA_PROTOCOLS, type QuotaKind, type QuotaProtocol, type QuotaLimiterOptions } from './limiter.ts';
export { limitsProblems, resolveLimits, UNLIMITED, type Limits, type LimitsProblem } from './limits.ts';
