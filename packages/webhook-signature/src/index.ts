export {
  SIGNATURE_HEADER,
  DEFAULT_TOLERANCE_SECONDS,
  signatureHeader,
  verifySignature,
  parseSignatureHeader,
  type Body,
  type VerifyOptions,
  type VerifyResult,
  type VerifySuccess,
  type VerifyFailure,
} from './signature.ts';
export { verifyWebhookMiddleware, type VerifyWebhookOptions } from './middleware.ts';
export { WEBHOOK_SIGNATURE_ERROR_CODES, signatureInvalid } from './errors.ts';
