/**
 * `npm run demo`: the journey of scripts/journey.ts against the platform
 * `npm run up` started, printing each step and its answer.
 */
import { runJourney, type Step } from './journey.ts';
import { platformUrls } from './infra/services.ts';

const print = (s: Step): void => {
  const body = JSON.stringify(s.body) ?? '';
  console.log(`${String(s.status).padEnd(4)} ${s.method.padEnd(5)} ${s.path}\n     ${s.name}: ${body.length > 220 ? `${body.slice(0, 220)}…` : body}`);
};

runJourney(platformUrls(), print).then(
  (r) => {
    console.log(`\nok: ${r.email} ordered, paid (payment ${r.paymentId}) and order ${r.orderId} is confirmed`);
  },
  (err: unknown) => {
    console.error(`\n${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
