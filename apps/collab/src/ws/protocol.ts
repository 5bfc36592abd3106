/**
 * The y-websocket protocol's outer message types (the first varuint of
 * every binary message); the sync and awareness payloads are y-protocols'.
 */
export const MESSAGE = { SYNC: 0, AWARENESS: 1, AUTH: 2, QUERY_AWARENESS: 3 } as const;
