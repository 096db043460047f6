// Reads of muster's HTTP API, with the read token when the agent asks for
// one. The token is kept in sessionStorage: this tab only, gone when it
// closes, never in a URL (where logs and history would keep it).

const KEY = 'muster.read-token';

// A request the agent refused for want of a (right) token.
export class AuthError extends Error {}

export function token() {
  return sessionStorage.getItem(KEY) || '';
}

export function setToken(value) {
  if (value) sessionStorage.setItem(KEY, value);
  else sessionStorage.removeItem(KEY);
}

// GET `path` (relative to the page: the agent's /v1/...). Only ever GET:
// the dashboard writes nothing.
export async function get(path, signal) {
  const headers = {};
  if (token()) headers.Authorization = 'Bearer ' + token();
  const res = await fetch(path, { method: 'GET', headers, signal, cache: 'no-store', credentials: 'omit' });
  if (res.status === 401 || res.status === 403) throw new AuthError('the agent did not take the token');
  if (!res.ok) throw new Error(path + ': HTTP ' + res.status);
  return res;
}

export async function getJson(path, signal) {
  return (await get(path, signal)).json();
}

// Whether this agent's reads need a token (never the token itself).
export async function readsNeedToken() {
  const res = await fetch('config.json', { cache: 'no-store', credentials: 'omit' });
  return (await res.json()).reads_need_token === true;
}
