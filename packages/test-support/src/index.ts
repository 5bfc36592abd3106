/**
 * Test and bench plumbing shared by the workspaces. Nothing here mocks
 * infrastructure: services run as real processes, calls are real HTTP.
 */
export { call, PROBLEM, type Reply } from './http.ts';
export { freePort, freePorts } from './port.ts';
export { startService, type Service, type StartServiceOptions } from './service.ts';
export { eventually, waitFor } from './wait.ts';
export { startFaultProxy, type FaultProxy, type FaultRule, type ProxiedRequest } from './fault-proxy.ts';
export { TEST_TENANT, OTHER_TENANT, runtimeDbUrl, sessionDbUrl, tenantCall } from './tenants.ts';
export { pgUrl, redisUrl, kafkaBrokers, fastConsumer, suffix } from './env.ts';
export { deleteTopics, readTopic, type TopicRecord } from './kafka.ts';
export { silent, captureLog, type LogEntry } from './logs.ts';
export { registryValue, scrapeValue } from './metrics.ts';
export { startSmtpCapture, type CapturedMail, type SmtpCapture } from './smtp.ts';
export { deletePrefix, RedisProcess } from './redis.ts';
export { startHttpServer, type HttpServer } from './http-server.ts';
export { devNull, setupServiceBed, type BedApp, type ServiceBed, type ServiceBedOptions } from './service-bed.ts';
