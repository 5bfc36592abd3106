import { describe, expect, it } from '@jest/globals';
import { canManage, canRead, canWrite } from './access.ts';

describe('document access', () => {
  it('when the lists are empty, then every user of the tenant reads and writes', () => {
    const doc = { readRoles: [], writeRoles: [] };
    expect(canRead(doc, [])).toBe(true);
    expect(canWrite(doc, [])).toBe(true);
  });
  it('when writers are named, then a reader-only role reads but does not write, a writer does both, others neither', () => {
    const doc = { readRoles: ['viewer'], writeRoles: ['editor'] };
    expect([canRead(doc, ['viewer']), canWrite(doc, ['viewer'])]).toEqual([true, false]);
    expect([canRead(doc, ['editor']), canWrite(doc, ['editor'])]).toEqual([true, true]);
    expect([canRead(doc, ['orders']), canWrite(doc, ['orders'])]).toEqual([false, false]);
    expect([canRead(doc, ['admin']), canWrite(doc, ['admin'])]).toEqual([true, true]);
  });
  it('when writers are named and readers are not, then everyone reads', () => {
    expect(canRead({ readRoles: [], writeRoles: ['editor'] }, ['orders'])).toBe(true);
  });
  it('access is managed by the creator or an admin', () => {
    expect(canManage({ createdBy: 'u1' }, 'u1', [])).toBe(true);
    expect(canManage({ createdBy: 'u1' }, 'u2', ['admin'])).toBe(true);
    expect(canManage({ createdBy: 'u1' }, 'u2', ['editor'])).toBe(false);
  });
});
