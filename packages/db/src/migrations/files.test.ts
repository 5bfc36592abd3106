import { describe, expect, it } from '@jest/globals';
import { isTransactional, migrationChecksum, parseMigrationFileName } from './files.ts';

describe('parseMigrationFileName', () => {
  it('when the name follows the convention, then version, name and phase are read', () => {
    expect(parseMigrationFileName('0001_create_orders.expand.sql')).toEqual({ version: 1, name: 'create_orders', phase: 'expand' });
    expect(parseMigrationFileName('12345_drop-old.contract.sql')).toEqual({ version: 12345, name: 'drop-old', phase: 'contract' });
  });

  it.each(['1_short.expand.sql', '0001_create_orders.sql', '0001_create_orders.both.sql', '0001_Create.expand.sql', 'orders.expand.sql'])(
    'when the name is %s, then it is refused with the convention',
    (file) => {
      expect(() => parseMigrationFileName(file)).toThrow(/NNNN_name\.\(expand\|contract\)\.sql/);
    },
  );
});

describe('migrationChecksum', () => {
  it('when the content changes, then the checksum changes', () => {
    expect(migrationChecksum('CREATE TABLE a (id int);')).not.toBe(migrationChecksum('CREATE TABLE a (id bigint);'));
  });

  it('when only line endings differ, then the checksum is the same', () => {
    expect(migrationChecksum('SELECT 1;\r\nSELECT 2;\r\n')).toBe(migrationChecksum('SELECT 1;\nSELECT 2;\n'));
  });

  it('when computed, then it is a SHA-256 hex digest', () => {
    expect(migrationChecksum('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});

describe('isTransactional', () => {
  it('when the header says no-transaction, then the file runs outside a transaction', () => {
    expect(isTransactional('-- add index\n-- bulwark:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);')).toBe(false);
  });

  it('when the directive appears after the first statement, then it is ignored', () => {
    expect(isTransactional('SELECT 1;\n-- bulwark:no-transaction\n')).toBe(true);
  });
});
