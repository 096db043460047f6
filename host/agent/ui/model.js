// The topology as the event stream tells it: every instance by id, built
// afresh by each stream (its `added`s, then `synced`) and kept current by
// `added`, `changed` and `removed`. The page shows the last synced model
// while a new stream is catching up, so a reconnect never blanks it.

export const HEALTHS = ['passing', 'warning', 'critical', 'drained'];

// "drained" while the instance carries the drain mark (still listed, never
// picked); otherwise its health.
export function standing(instance) {
  return (instance.metadata || {})['muster.drain'] === 'true' ? 'drained' : instance.health;
}

export class Topology {
  constructor() {
    this.instances = new Map(); // id -> instance, as /v1/watch gives it
    this.synced = false;
    this.index = 0;
  }

  // Applies one event of the stream; true when what is shown may change.
  apply(name, data) {
    switch (name) {
      case 'added':
      case 'changed':
        this.instances.set(data.id, data);
        return this.synced;
      case 'removed':
        this.instances.delete(data.id);
        return this.synced;
      case 'synced':
        this.synced = true;
        this.index = data.index;
        return true;
      default:
        return false;
    }
  }

  // role -> {passing, warning, critical, drained, total}, by role name.
  roles() {
    const out = new Map();
    for (const i of this.instances.values()) {
      let c = out.get(i.role);
      if (!c) out.set(i.role, (c = { passing: 0, warning: 0, critical: 0, drained: 0, total: 0 }));
      c[standing(i)]++;
      c.total++;
    }
    return new Map([...out.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
  }

  // The role's instances, by address then id.
  instancesOf(role) {
    return [...this.instances.values()]
      .filter((i) => i.role === role)
      .sort((a, b) => a.address.localeCompare(b.address) || a.id.localeCompare(b.id));
  }
}

// True when `instance` matches the filter text (address, id, health or any
// metadata key or value; case-insensitive).
export function matches(instance, text) {
  if (!text) return true;
  const t = text.toLowerCase();
  const has = (s) => String(s).toLowerCase().includes(t);
  if (has(instance.address) || has(instance.id) || has(standing(instance))) return true;
  return Object.entries(instance.metadata || {}).some(([k, v]) => has(k) || has(v));
}
