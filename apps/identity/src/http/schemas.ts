/** Request and response schemas of the HTTP API (validation and /openapi.json). */
import { z } from 'zod';

const TenantSlug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/).describe('Tenant slug, e.g. `bulwark`.');
const Email = z.email().max(254);
const Password = z.string().min(1).max(1024).describe('At least 12 characters, not a common password (checked at registration and reset: 422 otherwise).');
// One pattern with its length (not min/max + a '+'): generators of the contract test draw from the pattern.
const OpaqueToken = z.string().regex(/^[A-Za-z0-9_-]{16,128}$/);

export const RegisterBody = z.strictObject({
  tenant: TenantSlug,
  email: Email,
  password: Password,
  displayName: z.string().min(1).max(100).optional(),
});
export const AccountAddressBody = z.strictObject({ tenant: TenantSlug, email: Email });
export const VerifyBody = z.strictObject({ token: OpaqueToken.describe('The token from the verification email.') });
const SecondFactorCode = z.string().regex(/^(\d{6}|[A-Za-z2-7]{4}(-?[A-Za-z2-7]{4}){3})$/).describe('The 6-digit TOTP code of the authenticator app, or a recovery code (XXXX-XXXX-XXXX-XXXX).');
export const LoginBody = z.strictObject({ tenant: TenantSlug, email: Email, password: Password, otp: SecondFactorCode.optional().describe('Required when the account has two-step verification on (401 IDENTITY_SECOND_FACTOR_REQUIRED otherwise).') });
export const TotpCodeBody = z.strictObject({ code: SecondFactorCode });
export const TotpConfirmBody = z.strictObject({ code: z.string().regex(/^\d{6}$/).describe('The current 6-digit code of the newly enrolled authenticator.') });
export const RefreshBody = z.strictObject({ refreshToken: OpaqueToken });
export const ResetConfirmBody = z.strictObject({ token: OpaqueToken.describe('The token from the reset email.'), password: Password });
export const PatchMeBody = z.strictObject({ displayName: z.string().min(1).max(100).nullable().optional() });

export const AcceptedResponse = z.object({ status: z.enum(['accepted']) }).describe('Accepted; an email follows if the request applies to an account (the answer is the same either way).');
export const VerifiedResponse = z.object({ verified: z.literal(true) });

export const TokenResponse = z.object({
  accessToken: z.string().describe('ES256 JWT (typ at+jwt): sub, tenant, roles, scope, sid, iss, aud, exp, jti; kid in the header.'),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number().int().describe('Seconds until the access token expires.'),
  refreshToken: z.string().describe('Opaque; single use: each refresh returns a new one, and presenting a used one revokes the session.'),
  refreshExpiresAt: z.string(),
  sessionId: z.uuid(),
});

export const ProfileResponse = z.object({
  id: z.uuid(),
  tenant: z.object({ id: z.uuid(), slug: z.string(), name: z.string() }),
  email: z.string(),
  emailVerified: z.boolean(),
  displayName: z.string().nullable(),
  roles: z.array(z.string()),
  createdAt: z.string(),
});

export const JwksResponse = z.object({
  keys: z.array(z.object({ kty: z.string(), kid: z.string(), alg: z.string(), use: z.string() }).loose()),
}).describe('The public signing keys: the current one, the next one ahead of its activation, and superseded ones until their last token expired.');

/** The address orders takes (line1, city, postalCode, country) plus a label and the default flag. */
export const AddressBody = z.strictObject({
  label: z.string().min(1).max(50).nullable().default(null),
  line1: z.string().min(1).max(200),
  city: z.string().min(1).max(100),
  postalCode: z.string().min(1).max(20),
  country: z.string().regex(/^[A-Z]{2}$/).describe('ISO 3166-1 alpha-2, upper case.'),
  isDefault: z.boolean().default(false).describe('The first address is the default whatever this says; setting it moves the default here.'),
});
export const AddressParams = z.object({ id: z.uuid() });
export const AddressResponse = z.object({
  id: z.uuid(),
  label: z.string().nullable(),
  line1: z.string(),
  city: z.string(),
  postalCode: z.string(),
  country: z.string(),
  isDefault: z.boolean(),
  createdAt: z.string(),
});
export const AddressListResponse = z.object({ addresses: z.array(AddressResponse) });

export const TotpEnrolmentResponse = z.object({
  secret: z.string().describe('Base32 TOTP secret (SHA-1, 6 digits, 30 s); shown only now.'),
  otpauthUri: z.string().describe('otpauth:// URI for authenticator apps (a QR code of it).'),
  confirmed: z.literal(false),
});
export const RecoveryCodesResponse = z.object({ recoveryCodes: z.array(z.string()).describe('Ten single-use codes, shown only now (only hashes are kept).') });
export const TotpStatusResponse = z.object({ enabled: z.boolean(), pending: z.boolean(), recoveryCodesLeft: z.number().int(), requiredByTenant: z.boolean() });

const OrgRole = z.enum(['owner', 'admin', 'member']).describe('Role in the organisation: owners and admins manage members and invitations; only owners grant the owner role.');
export const OrgParams = z.object({ orgId: z.uuid() });
export const MemberParams = z.object({ orgId: z.uuid(), userId: z.uuid() });
export const InvitationParams = z.object({ orgId: z.uuid(), invitationId: z.uuid() });
export const CreateOrganizationBody = z.strictObject({ slug: TenantSlug, name: z.string().min(1).max(200) });
export const PatchOrganizationBody = z.strictObject({ name: z.string().min(1).max(200).optional(), requireTotp: z.boolean().optional().describe('Require two-step verification of every member.') });
export const MemberRoleBody = z.strictObject({ role: OrgRole });
export const InviteBody = z.strictObject({ email: Email, role: OrgRole.default('member') });
export const AcceptInvitationBody = z.strictObject({
  token: OpaqueToken.describe('The token from the invitation email.'),
  password: Password.describe('A new account\'s password (the strength rule applies), or the password of the account the organisation already has with this email.'),
  displayName: z.string().min(1).max(100).optional(),
});
export const OrganizationResponse = z.object({ id: z.uuid(), slug: z.string(), name: z.string(), requireTotp: z.boolean(), members: z.number().int(), role: OrgRole });
export const MemberResponse = z.object({ userId: z.uuid(), email: z.string(), displayName: z.string().nullable(), role: OrgRole, emailVerified: z.boolean(), createdAt: z.string() });
export const MemberListResponse = z.object({ members: z.array(MemberResponse) });
export const InvitationResponse = z.object({ id: z.uuid(), email: z.string(), role: OrgRole, expiresAt: z.string(), createdAt: z.string() });
export const InvitationListResponse = z.object({ invitations: z.array(InvitationResponse) });
export const CreatedOrganizationResponse = z.object({ organization: z.object({ id: z.uuid(), slug: z.string(), name: z.string() }), invitation: InvitationResponse.describe('The owner invitation emailed to the caller: accepting it makes the owner account.') });
export const AcceptedInvitationResponse = z.object({ organization: z.object({ id: z.uuid(), slug: z.string(), name: z.string() }), email: z.string(), role: OrgRole, userId: z.uuid() });

export const AccountIdParams = z.object({ id: z.uuid() });
export const AccountContactResponse = z
  .object({
    id: z.uuid(),
    tenantId: z.uuid(),
    email: z.string(),
    emailVerified: z.boolean(),
    name: z.string().nullable().describe('The display name, when the account has one.'),
    locale: z.string().nullable().describe('The preferred language (BCP 47); null while accounts have none (notifications then uses its default).'),
  })
  .describe('What another service needs to write to the account holder.');
