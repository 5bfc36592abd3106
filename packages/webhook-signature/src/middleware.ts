/**
 * Express middleware for webhook receivers. It needs the raw body, so mount
 * it after `express.raw({ type: '*\/*' })`; a request that fails goes to the
 * error handler as a 401 AppError (problem+json through the service kit),
 * one that passes reaches the next handler with `req.body` still the Buffer.
 */
import { signatureInvalid } from './errors.ts';
import { DEFAULT_TOLERANCE_SECONDS, SIGNATURE_HEADER, verifySignature } from './signature.ts';

export interface VerifyWebhookOptions {
  /** Active secrets, read per request so a rotation needs no restart. */
  secrets: () => readonly string[];
  toleranceSeconds?: number;
  /** Header to read; defaults to `bulwark-signature`. */
  header?: string;
}

interface RawRequest {
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
}

export function verifyWebhookMiddleware(options: VerifyWebhookOptions): (req: RawRequest, res: unknown, next: (err?: unknown) => void) => void {
  const headerName = (options.header ?? SIGNATURE_HEADER).toLowerCase();
  const toleranceSeconds = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  return (req, _res, next) => {
    const raw = req.headers[headerName];
    const header = Array.isArray(raw) ? raw[0] : raw;
    // Without a raw body there is nothing that can match: treat it like an empty body, so it fails as a mismatch.
    const body = req.body instanceof Uint8Array ? req.body : typeof req.body === 'string' ? req.body : '';
    const result = verifySignature(header, body, options.secrets(), { toleranceSeconds });
    if (result.ok) next();
    else next(signatureInvalid(result.reason));
  };
}
