/** Entry point of the PSP simulator process (port 8085 by default). */
import { runService } from '@bulwark/service-kit';
import { createPspApp } from './app.ts';
import { loadPspConfig } from '../config.ts';

const app = createPspApp({ config: loadPspConfig() });
await runService(app.service);
