/**
 * Who may read and write a document: `admin` always; otherwise a role among
 * the document's writers writes (and reads), a role among its readers reads.
 * An empty list opens that permission to every user of the tenant.
 */
export const ADMIN_ROLE = 'admin';

export interface DocumentAccess {
  readonly readRoles: readonly string[];
  readonly writeRoles: readonly string[];
}

const shares = (a: readonly string[], b: readonly string[]) => a.some((r) => b.includes(r));

export function canWrite(doc: DocumentAccess, roles: readonly string[]): boolean {
  return roles.includes(ADMIN_ROLE) || doc.writeRoles.length === 0 || shares(doc.writeRoles, roles);
}

export function canRead(doc: DocumentAccess, roles: readonly string[]): boolean {
  return canWrite(doc, roles) || doc.readRoles.length === 0 || shares(doc.readRoles, roles);
}

/** Changing access: an admin or the document's creator. */
export function canManage(doc: { createdBy: string }, sub: string, roles: readonly string[]): boolean {
  return roles.includes(ADMIN_ROLE) || doc.createdBy === sub;
}
