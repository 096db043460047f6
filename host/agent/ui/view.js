// Rendering: DOM nodes built with textContent only, never HTML from data
// (an instance's address and metadata come from whoever registered it).
// Health is always written out as a word; colour only repeats it.

import { HEALTHS, standing, matches } from './model.js';

function el(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (className) e.className = className;
  return e;
}

function row(cells) {
  const tr = document.createElement('tr');
  for (const c of cells) tr.append(c instanceof Node ? c : el('td', c));
  return tr;
}

function cell(child, className) {
  const td = el('td', undefined, className);
  td.append(child);
  return td;
}

// `word` written out, coloured as the standing `kind` (default: the word).
export function badge(word, kind = word) {
  return el('span', word, 'health health-' + kind);
}

// "4 s ago" for an RFC 3339 time or a count of milliseconds; "" for none.
export function ago(when) {
  const ms = typeof when === 'number' ? when : when ? Date.now() - Date.parse(when) : -1;
  if (ms < 0 || Number.isNaN(ms)) return '';
  if (ms < 1000) return 'just now';
  if (ms < 120000) return Math.round(ms / 1000) + ' s ago';
  if (ms < 7200000) return Math.round(ms / 60000) + ' min ago';
  return Math.round(ms / 3600000) + ' h ago';
}

export function roleHref(role) {
  return '#role=' + encodeURIComponent(role);
}

// The roles table: one row per role of `roles` (Topology.roles()) that
// matches the filter (by name, or by one of its instances), with its
// counts by standing.
export function renderRoles(tbody, topology, roles, filter, openRole) {
  const rows = [];
  const f = filter.toLowerCase();
  const holding = new Set(); // roles with an instance that matches: one pass over the instances
  if (f) for (const i of topology.instances.values()) if (matches(i, filter)) holding.add(i.role);
  for (const [role, counts] of roles) {
    if (f && !role.toLowerCase().includes(f) && !holding.has(role)) continue;
    const link = el('a', role);
    link.href = roleHref(role);
    if (role === openRole) link.setAttribute('aria-current', 'true');
    const cells = [cell(link, 'role')];
    // The column names the standing; the count's label repeats it for
    // screen readers, its symbol and colour for the eye.
    for (const h of HEALTHS) {
      const td = counts[h] ? cell(badge(String(counts[h]), h), 'count') : el('td', '0', 'count zero');
      td.dataset.health = h;
      td.setAttribute('aria-label', counts[h] + ' ' + h);
      cells.push(td);
    }
    cells.push(el('td', counts.total, 'count'));
    const tr = row(cells);
    if (role === openRole) tr.className = 'open';
    rows.push(tr);
  }
  tbody.replaceChildren(...rows);
  return rows.length;
}

function metadataCell(metadata) {
  const td = el('td', undefined, 'metadata');
  for (const [k, v] of Object.entries(metadata || {})) {
    if (k.startsWith('muster.')) continue; // muster's own marks are shown in their columns
    td.append(el('span', k + '=' + v, 'chip'));
  }
  return td;
}

// The open role's instances that match the filter.
export function renderInstances(tbody, instances, filter) {
  const rows = [];
  for (const i of instances) {
    if (!matches(i, filter)) continue;
    const meta = i.metadata || {};
    const place = [meta.zone, meta.region].filter(Boolean).join(' / ');
    const seen = el('td', ago(i.last_seen));
    if (i.last_seen) seen.title = i.last_seen;
    const tr = row([
      el('td', i.address, 'address'),
      cell(badge(standing(i))),
      el('td', i.health_reason || (standing(i) === 'drained' ? 'drained (' + i.health + ')' : '')),
      el('td', place),
      seen,
      el('td', i.id, 'id'),
      metadataCell(meta),
    ]);
    tr.dataset.id = i.id;
    rows.push(tr);
  }
  tbody.replaceChildren(...rows);
  return rows.length;
}

function breaker(state) {
  // closed = answering; open = given up on for now; half-open = being tried
  const word = state === 'closed' ? 'up' : state === 'open' ? 'down' : 'trying';
  return el('span', word + ' (' + state + ')', 'breaker breaker-' + state);
}

// Each region's chain (or the one chain): backend, breaker, last success,
// last error (the agent masks secrets in it).
export function renderChain(tbody, status) {
  const chains = status.regions
    ? status.regions.map((r) => [r.region + (r.local ? ' (local)' : ''), r.chain])
    : [['', status.chain]];
  tbody.parentElement.classList.toggle('one-region', !status.regions);
  const rows = [];
  for (const [region, links] of chains)
    for (const l of links)
      rows.push(
        row([
          el('td', region),
          el('td', l.backend, 'backend'),
          cell(breaker(l.breaker)),
          el('td', l.since_last_success_ms >= 0 ? ago(l.since_last_success_ms) : 'never'),
          el('td', l.last_error || '', 'error'),
        ])
      );
  tbody.replaceChildren(...rows);
}
