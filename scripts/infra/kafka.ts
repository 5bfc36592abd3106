/**
 * Apache Kafka 3.9 in KRaft mode (combined broker + controller, one node)
 * under .local/kafka. The broker jars come from Maven Central through
 * scripts/kafka/pom.xml (maven-dependency-plugin), cached in .local/kafka/libs.
 * Health is a real Kafka ApiVersions round trip, not just an open port.
 *
 * `createKafkaInstance()` builds the same server for another directory and
 * ports (sharing the cached jars): tests that must stop and restart a broker
 * start their own with it and never touch the shared one.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ensurePrereqs } from './prereqs.ts';
import { run, startDetached, stopIfOnAnotherPort, tcpProbe, waitFor, pidFileControl } from './proc.ts';
import type { LocalServer } from './server.ts';
import { repoRoot, settings } from './settings.ts';

const libs = path.join(settings.kafka.dir, 'libs');
const MAIN_CLASS = 'kafka.Kafka';

export interface KafkaInstanceOptions {
  /** Server name (CLI, messages); default `kafka`. */
  name?: string;
  /** Directory of its data, logs, pid and config files. */
  dir: string;
  port: number;
  controllerPort: number;
  /** JVM heap; default BULWARK_KAFKA_HEAP or 512m. */
  heap?: string;
}

/** A local Kafka server plus what a fault test needs: its pid and a hard kill. */
export interface KafkaInstance extends LocalServer {
  readonly port: number;
  /** Pid of the running broker we started, if any. */
  pid(): number | undefined;
  /** Sends `signal` to the broker and waits until the process is gone (SIGTERM: graceful; SIGKILL: crash). */
  kill(signal: 'SIGTERM' | 'SIGKILL', timeoutMs?: number): Promise<void>;
}

const log4j = `
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.BrokerServer=INFO
log4j.logger.kafka.server.ControllerServer=INFO
`;

function serverProperties(port: number, controllerPort: number, dataDir: string): string {
  return `
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${settings.host}:${controllerPort}
listeners=PLAINTEXT://${settings.host}:${port},CONTROLLER://${settings.host}:${controllerPort}
advertised.listeners=PLAINTEXT://${settings.host}:${port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=${dataDir}
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true
log.retention.hours=24
`;
}

export function createKafkaInstance(options: KafkaInstanceOptions): KafkaInstance {
  const { dir, port, controllerPort } = options;
  const name = options.name ?? 'kafka';
  const dataDir = path.join(dir, 'data');
  const pidFile = path.join(dir, 'kafka.pid');
  const control = pidFileControl(name, pidFile, MAIN_CLASS, 30_000);
  const logFile = path.join(dir, 'kafka.log');
  const propsFile = path.join(dir, 'server.properties');
  const log4jFile = path.join(dir, 'log4j.properties');

  return {
    name,
    port,
    url: `kafka://${settings.host}:${port}`,
    logFile,
    clientEnv: () => ({ BULWARK_KAFKA_BROKERS: `${settings.host}:${port}` }),
    async status() {
      return { healthy: await apiVersionsOk(port), ours: control.ours() };
    },
    async up() {
      ensurePrereqs(['kafka']);
      if (await apiVersionsOk(port)) return;
      await stopIfOnAnotherPort(pidFile, propsFile, [port, controllerPort], 30_000);
      if (control.ours()) {
        await waitFor(`${name} on :${port}`, () => apiVersionsOk(port), 60_000, logFile);
        return;
      }
      if (await tcpProbe(settings.host, port)) throw new Error(`port ${port} is taken by something that is not Kafka; set BULWARK_KAFKA_PORT`);
      fs.mkdirSync(dir, { recursive: true });
      fetchJars();
      fs.writeFileSync(propsFile, serverProperties(port, controllerPort, dataDir));
      fs.writeFileSync(log4jFile, log4j);
      if (!fs.existsSync(path.join(dataDir, 'meta.properties'))) {
        const clusterId = run('java', ['-cp', classpath(), 'kafka.tools.StorageTool', 'random-uuid']).trim().split('\n').pop()!;
        run('java', [`-Dlog4j.configuration=file:${log4jFile}`, '-cp', classpath(), 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propsFile]);
      }
      const heap = options.heap ?? process.env.BULWARK_KAFKA_HEAP ?? '512m';
      startDetached(
        'java',
        [`-Xms${heap}`, `-Xmx${heap}`, '-XX:+UseG1GC', `-Dlog4j.configuration=file:${log4jFile}`, '-cp', classpath(), MAIN_CLASS, propsFile],
        logFile,
        pidFile,
      );
      await waitFor(`${name} on :${port}`, () => apiVersionsOk(port), 90_000, logFile);
    },
    down: control.down,
    pid: control.pid,
    kill: control.kill,
  };
}


function classpath(): string {
  return `${libs}/*`;
}

function fetchJars(): void {
  if (fs.existsSync(path.join(libs, '.complete'))) return;
  process.stderr.write('fetching Kafka broker jars from Maven Central (scripts/kafka/pom.xml)' + '\n');
  run('mvn', ['-q', '-B', '-f', path.join(repoRoot, 'scripts/kafka/pom.xml'), 'package', `-Dkafka.libs=${libs}`, `-Dproject.build.directory=${path.join(settings.kafka.dir, 'target')}`]);
  fs.writeFileSync(path.join(libs, '.complete'), new Date().toISOString());
}

/** Sends ApiVersions v0 to `port` and checks for a well-formed answer with error code 0. */
function apiVersionsOk(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: settings.host, port });
    let buf = Buffer.alloc(0);
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => {
      const clientId = Buffer.from('bulwark-infra');
      const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
      body.writeInt16BE(18, 0); // ApiVersions
      body.writeInt16BE(0, 2); // version 0
      body.writeInt32BE(1, 4); // correlation id
      body.writeInt16BE(clientId.length, 8);
      clientId.copy(body, 10);
      const size = Buffer.alloc(4);
      size.writeInt32BE(body.length);
      socket.write(Buffer.concat([size, body]));
    });
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 10) done(buf.readInt32BE(4) === 1 && buf.readInt16BE(8) === 0);
    });
  });
}


/** The shared broker of `npm run infra` / Jest global setup. */
export const kafka: KafkaInstance = createKafkaInstance({ name: 'kafka', ...settings.kafka });
