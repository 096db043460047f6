// The dashboard: asks for the read token when the agent wants one, follows
// the topology through the event stream (/v1/watch), and the chain and
// each role's provenance through /v1/status, every 2 s. Reads only.

import { readsNeedToken, token, setToken, getJson, AuthError } from './api.js';
import { EventStream } from './stream.js';
import { Topology } from './model.js';
import { renderRoles, renderInstances, renderChain, ago } from './view.js';

const $ = (id) => document.getElementById(id);
const STATUS_EVERY_MS = 2000;
const ROLE_NAME = /^[a-z][a-z0-9_-]{0,62}$/; // as the agent checks it

const state = {
  shown: new Topology(), // the last synced model
  building: null, // a new stream's model, until it is synced
  live: false, // a stream is open
  status: null, // the last /v1/status
  statusOk: false, // the last poll of /v1/status answered
  stream: null,
  poll: 0,
  generation: 0, // bumped by stop(): a poll in flight from before stops there
};

function openRole() {
  const m = /^#role=([^&]*)/.exec(location.hash);
  const role = m ? decodeURIComponent(m[1]) : '';
  return ROLE_NAME.test(role) ? role : '';
}

let scheduled = false;
function schedule() {
  if (scheduled) return;
  scheduled = true;
  setTimeout(() => {
    scheduled = false;
    render();
  }, 30); // a burst of events makes one render
}

// The every-role cache's entry in /v1/status, or the role's own.
function cacheOf(role) {
  const caches = (state.status && state.status.caches) || [];
  return caches.find((c) => c.role === role) || caches.find((c) => c.role === '*');
}

// Stale: every backend's breaker is open, or the cache says so.
function stale() {
  if (!state.status) return false;
  const links = state.status.chain || [];
  const every = cacheOf('*');
  return (links.length > 0 && links.every((l) => l.breaker !== 'closed')) || Boolean(every && every.stale);
}

function provenance(c) {
  if (!c) return 'not cached yet';
  const from = c.backend ? 'answered by ' + c.backend : 'no backend has answered';
  const age = c.age_ms >= 0 ? ', ' + ago(c.age_ms).replace('just now', 'current') : '';
  return from + age + (c.stale ? ' (stale: no backend answers now)' : '') + (c.held ? ', ' + c.held + ' held' : '');
}

function renderBanner() {
  const banner = $('banner');
  const badge = $('connection');
  let text = '';
  let word = 'live';
  if (!state.live || !state.statusOk) {
    word = 'reconnecting';
    text = 'Disconnected from the agent; reconnecting. What is shown is the last state seen.';
  } else if (stale()) {
    word = 'stale';
    const c = cacheOf('*');
    text =
      'Stale: no backend answers. Showing the last answer' +
      (c && c.backend ? ' from ' + c.backend : '') +
      (c && c.age_ms >= 0 ? ', ' + Math.round(c.age_ms / 1000) + ' s old' : '') +
      '.';
  } else if (state.building) {
    word = 'syncing';
  }
  badge.textContent = word;
  badge.className = 'badge badge-' + word;
  document.body.classList.toggle('stale', word === 'stale');
  banner.textContent = text;
  banner.hidden = !text;
}

function render() {
  const role = openRole();
  const filter = $('filter').value.trim();
  const topology = state.shown;
  const roles = topology.roles();
  const shown = renderRoles($('roles').tBodies[0], topology, roles, filter, role);
  $('roles-empty').hidden = shown > 0;
  $('roles-empty').textContent = roles.size ? 'No role matches the filter.' : 'No instances are registered.';
  $('summary').textContent =
    topology.instances.size + ' instance' + (topology.instances.size === 1 ? '' : 's') + ' in ' +
    roles.size + ' role' + (roles.size === 1 ? '' : 's');

  $('role-panel').hidden = !role;
  if (role) {
    $('role-title').textContent = 'Role ' + role;
    $('role-source').textContent = provenance(cacheOf(role));
    const n = renderInstances($('instances').tBodies[0], topology.instancesOf(role), filter);
    $('instances-empty').hidden = n > 0;
  }
  if (state.status) renderChain($('chain').tBodies[0], state.status);
  renderBanner();
  document.title = (role ? role + ' · ' : '') + 'muster';
}

async function pollStatus() {
  const generation = state.generation;
  let status = null;
  let refusedNow = false;
  try {
    status = await getJson('../v1/status');
  } catch (e) {
    refusedNow = e instanceof AuthError;
  }
  if (generation !== state.generation) return; // stopped meanwhile
  if (refusedNow) return refused();
  if (status) state.status = status;
  state.statusOk = Boolean(status);
  schedule();
  state.poll = setTimeout(pollStatus, STATUS_EVERY_MS);
}

// A role opened (from the URL): read once through the agent, so it is
// cached and /v1/status says which backend answered it.
function roleOpened() {
  const role = openRole();
  if (role) getJson('../v1/roles/' + role).catch((e) => e instanceof AuthError && refused());
  schedule();
}

function start() {
  $('login').hidden = true;
  $('main').hidden = false;
  state.stream = new EventStream('../v1/watch', {
    onOpen() {
      state.building = new Topology();
      state.live = true;
      schedule();
    },
    onEvent(name, data) {
      if (state.building) {
        state.building.apply(name, data);
        if (name !== 'synced') return;
        state.shown = state.building;
        state.building = null;
        schedule();
      } else if (state.shown.apply(name, data)) {
        schedule();
      }
    },
    onDown() {
      state.live = false;
      state.building = null;
      schedule();
    },
    onAuth: refused,
  });
  state.stream.start();
  pollStatus();
  roleOpened();
}

function stop() {
  state.generation++;
  if (state.stream) state.stream.stop();
  clearTimeout(state.poll);
  state.stream = null;
}

function askToken(problem) {
  $('main').hidden = true;
  $('login').hidden = false;
  $('login-problem').textContent = problem || '';
  $('login-problem').hidden = !problem;
  $('token').focus();
}

function refused() {
  stop();
  setToken('');
  askToken('The agent did not take that token.');
}

function keyboard(e) {
  const typing = e.target instanceof HTMLInputElement;
  if (e.key === '/' && !typing) {
    e.preventDefault();
    $('filter').focus();
  } else if (e.key === 'Escape') {
    if (typing && $('filter').value) {
      $('filter').value = '';
      schedule();
    } else if (openRole()) {
      location.hash = '';
    }
  }
}

async function begin() {
  $('login').addEventListener('submit', (e) => {
    e.preventDefault(); // nothing is submitted anywhere: the token stays in this tab
    setToken($('token').value);
    $('token').value = '';
    start();
  });
  $('filter').addEventListener('input', schedule);
  window.addEventListener('hashchange', roleOpened);
  document.addEventListener('keydown', keyboard);
  for (;;) {
    try {
      if ((await readsNeedToken()) && !token()) return askToken();
      return start();
    } catch (e) {
      $('banner').textContent = 'Cannot reach the agent; trying again.';
      $('banner').hidden = false;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

begin();
