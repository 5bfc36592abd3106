import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { freePort } from '@bulwark/test-support';
import { ensureInfra, localDir, repoRoot, selectServers } from '../infra/index.ts';
import { PG_BIN } from '../infra/prereqs.ts';
import { clamd, clamdCommand, EICAR } from '../infra/clamd.ts';
import { s3 } from '../infra/s3.ts';
import { run } from '../infra/proc.ts';

const pgUrl = process.env.BULWARK_PG_URL!;
const clients: { end(): Promise<unknown> }[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.end()));
});

async function pgClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  clients.push(client);
  return client;
}

describe('local infrastructure', () => {
  it('when up runs twice, then the second run reuses the running servers', async () => {
    const before = await Promise.all(selectServers(['postgres', 'redis', 'kafka']).map((s) => s.status()));
    const env = await ensureInfra(['postgres', 'redis', 'kafka']);
    expect(env.BULWARK_PG_URL).toBe(pgUrl);
    const after = await Promise.all(selectServers(['postgres', 'redis', 'kafka']).map((s) => s.status()));
    expect(after).toEqual(before);
    expect(after.every((s) => s.healthy)).toBe(true);
  });

  // Needs this checkout's own PostgreSQL (a password file) and the server binaries; not when BULWARK_PG_URL points at a server of your own.
  const ownPostgres = fs.existsSync(path.join(localDir, 'postgres', 'password')) && fs.existsSync(`${PG_BIN}/initdb`);
  (ownPostgres ? it : it.skip)("when another checkout's PostgreSQL answers on our port, then up refuses with the reason and leaves that server alone", async () => {
    // A real second cluster with a superuser password of its own, as another checkout would have.
    const asUser = process.getuid?.() === 0 ? 'postgres' : undefined;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-foreign-pg-'));
    const port = await freePort();
    const dataDir = path.join(dir, 'data');
    const ctl = (args: string[]): string => run(`${PG_BIN}/pg_ctl`, ['-D', dataDir, ...args], { user: asUser });
    try {
      fs.writeFileSync(path.join(dir, 'pw'), randomUUID());
      if (asUser) run('chown', ['-R', `${asUser}:${asUser}`, dir]);
      run(`${PG_BIN}/initdb`, ['-D', dataDir, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${path.join(dir, 'pw')}`, '-E', 'UTF8', '--locale=C.UTF-8'], { user: asUser });
      ctl(['-l', path.join(dir, 'log'), '-o', `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`, '-w', '-t', '60', 'start']);
      // Ready before up looks; otherwise up would see only our main server on another port and move it here.
      run(`${PG_BIN}/pg_isready`, ['-q', '-h', '127.0.0.1', '-p', String(port)]);
      const env: NodeJS.ProcessEnv = { ...process.env, BULWARK_PG_PORT: String(port) };
      delete env.BULWARK_PG_URL; // set by the global setup; it would make up reuse it without looking
      const up = spawnSync(path.join(repoRoot, 'scripts/run'), ['node', 'scripts/infra.ts', 'up', 'postgres'], { cwd: repoRoot, env, encoding: 'utf8', timeout: 120_000 });
      expect(up.status).toBe(1);
      expect(up.stderr).toContain(`a PostgreSQL we did not start answers on port ${port} and refuses this checkout's password`);
      expect(up.stderr).toMatch(/password authentication failed/);
      expect(ctl(['status'])).toContain('server is running');
    } finally {
      try {
        ctl(['-m', 'immediate', '-w', 'stop']);
      } catch {
        // not started
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('when PostgreSQL is asked for its settings, then logical WAL is on for CDC', async () => {
    const client = await pgClient(pgUrl);
    const { rows } = await client.query<{ wal_level: string }>('SHOW wal_level');
    expect(rows[0]?.wal_level).toBe('logical');
    const version = await client.query<{ server_version_num: string }>('SHOW server_version_num');
    expect(Number(version.rows[0]?.server_version_num)).toBeGreaterThanOrEqual(150000);
  });

  it('when a replica is started, then a row written on the primary streams to it', async () => {
    const env = await ensureInfra(['postgres-replica']);
    const primary = await pgClient(pgUrl);
    const replica = await pgClient(env.BULWARK_PG_REPLICA_URL!);
    const table = `repl_${randomUUID().replaceAll('-', '')}`;
    await primary.query(`CREATE TABLE ${table} (v text)`);
    await primary.query(`INSERT INTO ${table} VALUES ($1)`, ['streamed']);
    const { rows } = await replica.query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery');
    expect(rows[0]?.recovery).toBe(true);
    let seen: string | undefined;
    for (let i = 0; i < 100 && seen === undefined; i++) {
      const res = await replica.query<{ v: string }>(`SELECT v FROM ${table}`).catch(() => ({ rows: [] as { v: string }[] }));
      seen = res.rows[0]?.v;
      if (seen === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen).toBe('streamed');
    await primary.query(`DROP TABLE ${table}`);
  });

  it('when Redis is asked for its policy, then it is noeviction with AOF on', async () => {
    const redis = new Redis(process.env.BULWARK_REDIS_URL!);
    clients.push({ end: () => redis.quit() });
    expect(await redis.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
  });

  it('when a message is produced to a fresh topic, then a consumer reads it back', async () => {
    const kafka = new Kafka({ brokers: process.env.BULWARK_KAFKA_BROKERS!.split(','), clientId: 'infra-test', logLevel: logLevel.NOTHING });
    const topic = `infra-test-${randomUUID()}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'k', value: 'hello' }] });
    const consumer = kafka.consumer({ groupId: `g-${topic}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = await new Promise<string>((resolve) => {
      void consumer.run({ eachMessage: async ({ message }) => resolve(message.value!.toString()) });
    });
    expect(received).toBe('hello');
    await consumer.disconnect();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
  });

  it('when the S3 server is up, then an object put through the S3 SDK with the generated credentials comes back', async () => {
    const env = await ensureInfra(['s3']);
    expect(fs.statSync(path.join(localDir, 's3', 'credentials.json')).mode & 0o777).toBe(0o600);
    const client = new S3Client({ endpoint: env.BULWARK_S3_URL, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: env.BULWARK_S3_ACCESS_KEY!, secretAccessKey: env.BULWARK_S3_SECRET_KEY! } });
    const bucket = `infra-test-${randomUUID().slice(0, 8)}`;
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/b.txt', Body: 'stored' }));
      const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'a/b.txt' }));
      expect(await got.Body!.transformToString()).toBe('stored');
      expect((await s3.status()).healthy).toBe(true);
    } finally {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'a/b.txt' })).catch(() => undefined);
      await client.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
      client.destroy();
    }
  }, 600_000);

  it('when clamd is up, then it answers PING and finds the EICAR test file from the local signatures', async () => {
    await ensureInfra(['clamd']);
    expect(await clamdCommand(clamd.port, 'PING')).toBe('PONG');
    expect(await clamdCommand(clamd.port, 'VERSION')).toMatch(/^ClamAV /);
    const db = fs.readFileSync(path.join(localDir, 'clamd', 'db', 'bulwark.ndb'), 'utf8');
    expect(db).toContain(Buffer.from(EICAR, 'latin1').toString('hex'));
  }, 120_000);
});
