/**
 * Which principal opened each upstream MCP session seen through this gateway, so a session id is
 * usable only by the key (or token subject) that opened it. Bounded: the oldest entries go first.
 * Sessions this process has not seen (opened through another replica) are not judged here.
 */
export class SessionOwners {
  private readonly owners = new Map<string, string>();
  constructor(private readonly max = 50_000) {}

  private key(instanceId: string, sessionId: string): string {
    return `${instanceId}\n${sessionId}`;
  }

  /** False when the session is known to belong to someone else. */
  allows(instanceId: string, sessionId: string, principal: string): boolean {
    const owner = this.owners.get(this.key(instanceId, sessionId));
    return owner === undefined || owner === principal;
  }

  record(instanceId: string, sessionId: string, principal: string): void {
    const k = this.key(instanceId, sessionId);
    if (this.owners.has(k)) return;
    this.owners.set(k, principal);
    if (this.owners.size > this.max) this.owners.delete(this.owners.keys().next().value as string);
  }

  forget(instanceId: string, sessionId: string): void {
    this.owners.delete(this.key(instanceId, sessionId));
  }

  clear(): void {
    this.owners.clear();
  }
}
