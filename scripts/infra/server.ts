/** The shape every local server follows, so the CLI and Jest treat them alike. */
export interface ServerStatus {
  /** Something answers on the server's port. */
  healthy: boolean;
  /** We started it (pid file under .local/ points at a live process of ours). */
  ours: boolean;
  detail?: string;
}

export interface LocalServer {
  name: string;
  url: string;
  logFile: string;
  /** Environment variables that point a client at this server. */
  clientEnv(): Record<string, string>;
  status(): Promise<ServerStatus>;
  /** Installs what is missing, initialises on first use, starts; no-op when healthy. */
  up(): Promise<void>;
  /** Stops the server only if we started it. */
  down(): Promise<void>;
}
