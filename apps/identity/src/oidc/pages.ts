/**
 * The provider's server-rendered pages: sign in, second factor, consent,
 * sign out, errors. Plain HTML forms that work without JavaScript (none is
 * served), `lang`, a label for every field, autocomplete hints, the first
 * field or the error summary focused, errors announced (role="alert") and
 * tied to the fields (aria-describedby). Every value is escaped.
 */

const SCOPE_TEXT: Record<string, string> = {
  openid: 'Know who you are (your account id)',
  profile: 'Your name, organisation and roles',
  email: 'Your email address',
  offline_access: 'Stay signed in to the application (refresh tokens)',
};

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `body{font-family:system-ui,sans-serif;line-height:1.5;margin:0;background:#f4f5f7;color:#1b1d21}
main{max-width:26rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:.5rem;box-shadow:0 1px 3px #0003}
h1{font-size:1.5rem;margin-top:0}label{display:block;font-weight:600;margin-top:1rem}
input{display:block;width:100%;box-sizing:border-box;padding:.6rem;margin-top:.25rem;font-size:1rem;border:1px solid #5c6370;border-radius:.25rem}
input:focus,button:focus{outline:3px solid #1a56db;outline-offset:2px}
button{margin-top:1.5rem;padding:.7rem 1.2rem;font-size:1rem;border:0;border-radius:.25rem;background:#1a56db;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#1a56db;border:1px solid #1a56db;margin-top:.75rem}
.error{border-left:4px solid #b91c1c;background:#fdecec;padding:.75rem;margin-bottom:1rem}.hint{color:#4b5160;font-size:.9rem}`;

function layout(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} · Bulwark</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>`;
}

function errorSummary(error: string | undefined): string {
  return error ? `<div class="error" id="form-error" role="alert" tabindex="-1" autofocus><p>${escapeHtml(error)}</p></div>` : '';
}

export interface LoginPageInput {
  action: string;
  csrf: string;
  clientName: string;
  tenant?: string | undefined;
  email?: string | undefined;
  error?: string | undefined;
}

export function renderLoginPage(p: LoginPageInput): string {
  const described = p.error ? ' aria-describedby="form-error"' : '';
  const focusFirst = p.error ? '' : ' autofocus';
  return layout(
    'Sign in',
    `<h1>Sign in</h1>
<p>to continue to <strong>${escapeHtml(p.clientName)}</strong></p>
${errorSummary(p.error)}
<form method="post" action="${escapeHtml(p.action)}" novalidate>
<input type="hidden" name="csrf" value="${escapeHtml(p.csrf)}">
<label for="tenant">Organisation</label>
<input id="tenant" name="tenant" type="text" required autocomplete="organization" autocapitalize="none" spellcheck="false" value="${escapeHtml(p.tenant)}"${described}${focusFirst}>
<label for="email">Email</label>
<input id="email" name="email" type="email" required autocomplete="username" value="${escapeHtml(p.email)}"${described}>
<label for="password">Password</label>
<input id="password" name="password" type="password" required autocomplete="current-password"${described}>
<button type="submit">Sign in</button>
</form>
<form method="post" action="${escapeHtml(p.action.replace(/\/login$/, '/abort'))}">
<input type="hidden" name="csrf" value="${escapeHtml(p.csrf)}">
<button type="submit" class="secondary">Cancel</button>
</form>`,
  );
}

export interface OtpPageInput {
  action: string;
  csrf: string;
  ticket: string;
  error?: string | undefined;
}

export function renderOtpPage(p: OtpPageInput): string {
  const described = p.error ? 'otp-hint form-error' : 'otp-hint';
  return layout(
    'Two-step verification',
    `<h1>Two-step verification</h1>
${errorSummary(p.error)}
<form method="post" action="${escapeHtml(p.action)}" novalidate>
<input type="hidden" name="csrf" value="${escapeHtml(p.csrf)}">
<input type="hidden" name="ticket" value="${escapeHtml(p.ticket)}">
<label for="otp">Authentication code</label>
<p class="hint" id="otp-hint">The 6-digit code from your authenticator app, or one of your recovery codes.</p>
<input id="otp" name="otp" type="text" required inputmode="numeric" autocomplete="one-time-code" aria-describedby="${described}"${p.error ? '' : ' autofocus'}>
<button type="submit">Verify</button>
</form>`,
  );
}

export interface ConsentPageInput {
  action: string;
  abortAction: string;
  csrf: string;
  clientName: string;
  scopes: readonly string[];
}

export function renderConsentPage(p: ConsentPageInput): string {
  const items = p.scopes.map((s) => `<li>${escapeHtml(SCOPE_TEXT[s] ?? `Use the platform API on your behalf (${s})`)}</li>`).join('\n');
  return layout(
    'Allow access',
    `<h1>Allow access</h1>
<p><strong>${escapeHtml(p.clientName)}</strong> asks to:</p>
<ul>
${items}
</ul>
<form method="post" action="${escapeHtml(p.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(p.csrf)}">
<button type="submit" autofocus>Allow</button>
</form>
<form method="post" action="${escapeHtml(p.abortAction)}">
<input type="hidden" name="csrf" value="${escapeHtml(p.csrf)}">
<button type="submit" class="secondary">Deny</button>
</form>`,
  );
}

/** `form` is oidc-provider's hidden form (its id `op.logoutForm` and CSRF field); the buttons submit it. */
export function renderLogoutPage(form: string, clientName: string | undefined): string {
  return layout(
    'Sign out',
    `<h1>Sign out${clientName ? ` of ${escapeHtml(clientName)}` : ''}?</h1>
${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Yes, sign me out</button>
<button type="submit" form="op.logoutForm" class="secondary">No, stay signed in</button>`,
  );
}

export function renderLoggedOutPage(clientName: string | undefined): string {
  return layout('Signed out', `<h1 tabindex="-1" autofocus>Signed out</h1><p>You are signed out${clientName ? ` of ${escapeHtml(clientName)}` : ''}.</p>`);
}

export function renderErrorPage(error: string, description: string | undefined): string {
  return layout(
    'Something went wrong',
    `<h1>Something went wrong</h1>
<div class="error" role="alert" tabindex="-1" autofocus><p>${escapeHtml(description ?? error)}</p><p class="hint">Error code: <code>${escapeHtml(error)}</code></p></div>
<p>Go back to the application and start again.</p>`,
  );
}
