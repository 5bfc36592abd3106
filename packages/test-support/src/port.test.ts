import { describe, expect, it } from '@jest/globals';
import { createServer, type AddressInfo } from 'node:net';
import { canListen, freePort, freePorts } from './port.ts';

describe('free ports', () => {
  it('when ports are asked for, then they are distinct, listenable and below the ephemeral range', async () => {
    const ports = await freePorts(8);
    expect(new Set(ports).size).toBe(8);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(20_000);
      expect(port).toBeLessThan(32_768);
      await expect(canListen(port)).resolves.toBe(true);
    }
    expect(await freePort()).toBeLessThan(32_768);
  });

  it('when something listens on a port, then canListen says no', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await expect(canListen((server.address() as AddressInfo).port)).resolves.toBe(false);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
