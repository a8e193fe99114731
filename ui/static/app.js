// Flowlab's playground script: applies websocket frames to the
// server-rendered page, and drives the controls, the job editor and uploads.
// No framework. Data is only ever put into the page with textContent or
// attributes, never as HTML. Frame format: docs/API.md. lesson.js uses the
// helpers it shares as window.Flowlab.
(() => {
  'use strict';

  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const HISTORY_MS = 5 * 60 * 1000;

  // latencyMs is a latency in whole ms, '–' for none.
  function latencyMs(ms) {
    return ms === null || ms === undefined ? '–' : Math.round(ms) + ' ms';
  }

  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'class') e.className = v;
      else if (v !== undefined && v !== null) e.setAttribute(k, v);
    }
    for (const c of children) e.append(c instanceof Node ? c : String(c));
    return e;
  }

  let toastTimer;
  function toast(msg, isError = true) {
    const t = $('[data-testid=toast]');
    if (!t) return;
    t.textContent = msg;
    t.classList.toggle('error', isError);
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, 6000);
  }

  // api calls the REST API; errors carry the server's messages.
  async function api(method, url, body, type = 'application/json') {
    const opts = { method, headers: {} };
    if (body !== undefined) {
      opts.body = body instanceof FormData || typeof body === 'string' ? body : JSON.stringify(body);
      if (!(body instanceof FormData)) opts.headers['Content-Type'] = type;
    }
    const res = await fetch(url, opts);
    let data = null;
    try { data = await res.json(); } catch (e) { /* not JSON */ }
    if (!res.ok) {
      const err = new Error(data && data.errors ? data.errors.join('\n') : res.status + ' ' + res.statusText);
      err.status = res.status;
      err.data = data;
      throw err;
    }
    return data;
  }

  // Numbers as shown.
  const pct = (p) => (p === null || p === undefined ? 'N/A' : Math.round(p) + '%');
  const dataPct = (p) => (p === null || p === undefined ? 'NaN' : String(Math.round(p)));
  const ratioPct = (r) => (r === null || r === undefined ? 'N/A' : Math.round(r * 100) + '%');
  const msPerSecond = (r) => (r === null || r === undefined ? 'N/A' : Math.round(r * 1000) + ' ms/s');
  const perSecond = (n) => (n === null || n === undefined ? '–' : n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));

  // micros parses a Go duration ("1.5ms", "200µs", "0s") into microseconds.
  function micros(d) {
    if (!d) return 0;
    const units = { h: 3.6e9, m: 6e7, s: 1e6, ms: 1e3, us: 1, 'µs': 1, 'μs': 1, ns: 1e-3 };
    let total = 0;
    for (const m of d.matchAll(/([0-9.]+)(h|ms|m|s|us|µs|μs|ns)/g)) total += parseFloat(m[1]) * units[m[2]];
    return Math.round(total);
  }
  const rateText = (r) => (!r ? 'unlimited' : r.toLocaleString('en-US') + '/s');
  // bytes is a size as shown: "512 B", "1.5 KiB", "2.0 MiB".
  function bytes(n) {
    if (n === null || n === undefined || n < 0) return '–';
    if (n < 1024) return n + ' B';
    const units = ['KiB', 'MiB', 'GiB', 'TiB'];
    let v = n / 1024, i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return v.toFixed(1) + ' ' + units[i];
  }
  // duration is a time in ms as shown: "85 ms", "1.2 s", "2 min 5 s"; '–' below 0 (none).
  function duration(ms) {
    if (ms === null || ms === undefined || ms < 0) return '–';
    if (ms < 1000) return Math.round(ms) + ' ms';
    if (ms < 60000) return (ms < 10000 && ms % 1000 ? (ms / 1000).toFixed(1) : Math.round(ms / 1000)) + ' s';
    const s = Math.round(ms / 1000);
    return Math.floor(s / 60) + ' min' + (s % 60 ? ' ' + (s % 60) + ' s' : '');
  }
  // goDuration is a time in ms as a Go duration the API takes: "5s", "500ms".
  const goDuration = (ms) => (ms % 1000 === 0 ? ms / 1000 + 's' : ms + 'ms');
  const short = (s, n) => ([...s].length <= n ? s : [...s].slice(0, n - 1).join('') + '…');

  // configValue is a config field as typed: JSON if it reads as JSON (2,
  // true, "x"), else the text itself (20s).
  function configValue(text) {
    try { return JSON.parse(text); } catch (e) { return text; }
  }

  window.Flowlab = Object.freeze({ $, $$, el, api, toast });

  // ---------------------------------------------------------------- playground

  function playground(main) {
    const jid = main.dataset.jid;
    const tickMs = Number(main.dataset.tickMs) || 100;
    const capacity = Math.ceil(HISTORY_MS / tickMs);
    const drawer = $('[data-testid=drawer]', main);
    const nodes = new Map($$('[data-testid=node]', main).map((g) => [g.dataset.task, g]));
    const history = new Map(); // vertex id -> {t, busy, bp, p99}
    const sort = { key: 'subtask', dir: 1 };
    let frame = null;
    const diagnosis = $('[data-testid=diagnosis]', main);
    let selected = null;
    let tab = 'backpressure';
    let ended = false;
    const flamePanel = $('[data-testid=flamegraph]', drawer);
    const flame = window.FlowlabFlame && flamePanel
      ? window.FlowlabFlame.panel(flamePanel, (task, type, subtask) =>
        `/jobs/${encodeURIComponent(jid)}/vertices/${encodeURIComponent(task)}/flamegraph?type=${encodeURIComponent(type)}` +
        (subtask === '' ? '' : '&subtaskindex=' + encodeURIComponent(subtask)))
      : null;

    // Websocket.
    let backoff = 500;
    function connect() {
      const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/jobs/' + jid);
      ws.onopen = () => { backoff = 500; };
      ws.onmessage = (e) => {
        const m = JSON.parse(e.data);
        if (m.type === 'history') loadHistory(m);
        else if (m.type === 'frame') applyFrame(m);
      };
      ws.onclose = () => {
        if (ended) return;
        setTimeout(connect, backoff);
        backoff = Math.min(backoff * 2, 8000);
      };
    }

    function loadHistory(m) {
      for (const v of m.vertices) {
        history.set(v.id, { t: m.offsets.map((o) => m.start + o), busy: v.busy, bp: v.backPressured, p99: v.latencyP99 || v.busy.map(() => null) });
      }
      drawTimelines();
    }

    function record(fr) {
      for (const v of fr.vertices) {
        let h = history.get(v.id);
        if (!h) { h = { t: [], busy: [], bp: [], p99: [] }; history.set(v.id, h); }
        if (h.t.length && h.t[h.t.length - 1] >= fr.timestamp) continue;
        h.t.push(fr.timestamp); h.busy.push(v.busy); h.bp.push(v.backPressured); h.p99.push(v.latency ? v.latency.p99 : null);
        if (h.t.length > capacity) { h.t.shift(); h.busy.shift(); h.bp.shift(); h.p99.shift(); }
      }
    }

    function applyFrame(fr) {
      frame = fr;
      record(fr);
      const st = $('[data-testid=job-state]', main);
      st.textContent = fr.state;
      st.dataset.state = fr.state;
      st.className = 'state state-' + fr.state;
      ended = ['FINISHED', 'CANCELED', 'FAILED'].includes(fr.state);
      const dot = $(`[data-testid=job-link][data-jid="${jid}"] .state-dot`);
      if (dot) { dot.className = 'state-dot state-' + fr.state; dot.title = fr.state; }
      const failure = $('[data-testid=job-failure]', main);
      failure.textContent = fr.failure || '';
      failure.hidden = !fr.failure;
      const pause = $('[data-testid=control-pause]', main);
      if (pause) { // a cluster's job has no controls
        pause.dataset.paused = String(fr.paused);
        pause.textContent = fr.paused ? 'Resume' : 'Pause';
        const win = $('[data-testid=control-window]', main);
        if (document.activeElement !== win) win.value = fr.windowMs === tickMs ? 'tick' : Math.round(fr.windowMs / 1000) + 's';
      }
      if (diagnosis) applyDiagnosis(fr.diagnosis || []);
      for (const v of fr.vertices) applyVertex(v);
      for (const e of fr.edges || []) applyEdge(e);
      if (selected) renderDrawer();
      if (tab === 'timeline' && selected) scheduleTimelines();
    }

    // applyEdge relabels an edge whose partitioning a rescale changed.
    function applyEdge(e) {
      for (const g of main.querySelectorAll('[data-testid=edge]')) {
        if (g.dataset.from !== e.from || g.dataset.to !== e.to || g.dataset.partitioning === e.label) continue;
        g.dataset.partitioning = e.label;
        const text = $('.edge-label text', g);
        text.textContent = e.label;
        const w = text.getComputedTextLength() + 16; // as components.EdgeLabelWidth
        const rect = $('.edge-label rect', g);
        rect.setAttribute('x', String(-w / 2));
        rect.setAttribute('width', String(w));
      }
    }

    function applyVertex(v) {
      const g = nodes.get(v.name);
      if (!g) return;
      g.dataset.busy = dataPct(v.busy);
      g.dataset.backpressured = dataPct(v.backPressured);
      g.dataset.fill = v.fill;
      g.dataset.border = v.border;
      g.dataset.level = v.level;
      const box = $('.node-box', g);
      box.setAttribute('fill', v.fill);
      box.setAttribute('stroke', v.border);
      $('[data-field=parallelism]', g).textContent = 'Parallelism: ' + v.parallelism;
      $('[data-field=busy]', g).textContent = 'Busy (max): ' + pct(v.busy);
      $('[data-field=backpressured]', g).textContent = 'Backpressured (max): ' + pct(v.backPressured);
      $('[data-field=skew]', g).textContent = 'Data skew: ' + pct(v.dataSkew);
      g.dataset.latencyP50 = v.latency ? String(Math.round(v.latency.p50)) : '';
      g.dataset.latencyP99 = v.latency ? String(Math.round(v.latency.p99)) : '';
      const lat = $('[data-field=latency]', g);
      if (lat) lat.textContent = v.latency ? `Latency p50 ${Math.round(v.latency.p50)} · p99 ${Math.round(v.latency.p99)} ms` : 'Latency p50 – · p99 –';
      $('title', g).textContent = nodeTitle(v);
      const parts = [short(v.operator, 22)];
      if (v.cost && micros(v.cost) > 0) parts.push(v.cost + '/record');
      if (v.rate !== undefined && v.rate !== null) parts.push(rateText(v.rate));
      $('[data-field=operator]', g).textContent = parts.join(' · ');
      syncControls(v);
    }

    // Controls show the job's values, from the frames: the last frame of
    // each task, and each task's config (sent in a frame when it changes).
    // A control the learner is editing keeps its text, and so does one whose
    // change the job took, for a moment: a frame already on its way still
    // has the old value. A value the job refuses snaps back, with the reason.
    const latest = new Map(); // task -> its vertex in the last frame
    const configs = new Map(); // task -> its operator config
    const held = new Map(); // control key -> until when it keeps its text (Infinity: being edited)
    const isHeld = (key) => (held.get(key) ?? 0) > Date.now();
    const boxOf = (task) => $(`.task-controls[data-task="${CSS.escape(task)}"]`, drawer);
    const numberText = (n) => String(Math.round(n * 1e6) / 1e6);
    const configText = (v) => (v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));
    const sourceFields = ['keys', 'skew']; // offered on every source, set or not (handlers.sourceFields)

    function syncControls(v) {
      latest.set(v.name, v);
      if (v.config) configs.set(v.name, v.config);
      const box = boxOf(v.name);
      if (!box) return;
      const key = (what) => v.name + '/' + what;
      if (!isHeld(key('cost'))) {
        const us = micros(v.cost);
        const cost = $('[data-testid=control-cost]', box);
        if (us > Number(cost.max)) cost.max = String(us);
        cost.value = String(us);
        $('[data-testid=control-cost-ms]', box).value = numberText(us / 1000);
      }
      if (!isHeld(key('parallelism'))) $('[data-testid=control-parallelism]', box).value = String(v.parallelism);
      const op = $('[data-testid=control-operator]', box);
      if (op && !isHeld(key('operator')) && op.value !== v.operator) {
        if (!$$('option', op).some((o) => o.value === v.operator)) op.prepend(el('option', { value: v.operator }, v.operator));
        op.value = v.operator;
      }
      const rate = $('[data-testid=control-rate]', box);
      if (rate && !isHeld(key('rate')) && v.rate !== undefined && v.rate !== null) {
        if (v.rate > Number(rate.max)) rate.max = String(v.rate);
        rate.value = String(v.rate);
        $('[data-testid=control-rate-value]', box).value = numberText(v.rate);
      }
      syncConfig(v.name, box);
    }

    // syncConfig shows a task's config: a field per value set (and a
    // source's sourceFields), a number input for a number.
    function syncConfig(task, box) {
      const config = configs.get(task);
      if (!config) return;
      const source = box.dataset.source === 'true';
      const names = source ? sourceFields.slice() : [];
      for (const k of Object.keys(config).sort()) if (!names.includes(k) && !(source && k === 'rate')) names.push(k);
      const list = $('.config-fields', box);
      const inputs = new Map($$('[data-testid=control-config]', list).map((i) => [i.dataset.field, i]));
      for (const [name, input] of inputs) {
        if (!names.includes(name) && !isHeld(task + '/config/' + name)) input.closest('.field').remove();
      }
      names.forEach((name, k) => {
        let input = inputs.get(name);
        if (!input) {
          input = el('input', { type: 'text', class: 'config-input', 'data-testid': 'control-config', 'data-task': task, 'data-field': name, 'data-kind': 'text', placeholder: 'default' });
          list.append(el('label', { class: 'field' }, el('span', {}, name), input));
          wireConfig(input, task, box);
        }
        if (isHeld(task + '/config/' + name)) return;
        const value = config[name];
        const kind = typeof value === 'number' || (value === undefined && source) ? 'number' : 'text';
        if (input.dataset.kind !== kind) {
          input.type = kind;
          input.dataset.kind = kind;
          if (kind === 'number') input.step = 'any'; else input.removeAttribute('step');
        }
        input.value = configText(value);
        const field = input.closest('.field');
        if (list.children[k] !== field) list.insertBefore(field, list.children[k] || null);
      });
    }

    function resync(task) {
      const v = latest.get(task);
      if (v) syncControls(v);
    }

    function showError(box, msg) {
      const p = $('[data-testid=control-error]', box);
      p.textContent = msg;
      p.hidden = false;
    }
    function clearError(box) { $('[data-testid=control-error]', box).hidden = true; }

    // commit sends a change of a task's control key; what says that the
    // change restarts the job, and how.
    async function commit(task, key, change, what) {
      const box = boxOf(task);
      held.set(key, Infinity);
      clearError(box);
      try {
        await api('PATCH', '/api/jobs/' + jid, change);
        held.set(key, Date.now() + 1000);
        if (what) toast(what + ': the job restarts with it', false);
      } catch (e) {
        refuse(task, key, e.message);
      }
    }

    // refuse puts a control back to the job's value and says why.
    function refuse(task, key, msg) {
      held.delete(key);
      showError(boxOf(task), msg);
      toast(msg);
      resync(task);
    }

    // unchanged puts a control whose value is the job's back to the job's text ("02" to "2").
    function unchanged(task, key) {
      held.delete(key);
      resync(task);
    }

    // editing marks a control being edited, until it changes or loses focus.
    function editing(task, key, ...inputs) {
      for (const input of inputs) {
        input.addEventListener('input', () => { held.set(key, Infinity); clearError(boxOf(task)); });
        input.addEventListener('blur', () => { if (held.get(key) === Infinity) unchanged(task, key); });
      }
    }

    // parseNumber reads a number input: a finite number, or NaN.
    const parseNumber = (text) => (text.trim() === '' ? NaN : Number(text));

    function wireConfig(input, task, box) {
      const name = input.dataset.field, key = task + '/config/' + name;
      editing(task, key, input);
      input.addEventListener('change', () => {
        const current = (configs.get(task) || {})[name];
        let value;
        if (input.validity.badInput) return refuse(task, key, `${task}: ${name} must be a number`);
        if (input.value.trim() === '') return unchanged(task, key); // a config field cannot be unset
        if (input.dataset.kind === 'number') {
          value = parseNumber(input.value);
          if (!Number.isFinite(value)) return refuse(task, key, `${task}: ${name} must be a number`);
          input.value = numberText(value);
        } else {
          value = configValue(input.value.trim());
        }
        if (JSON.stringify(value) === JSON.stringify(current)) return unchanged(task, key);
        commit(task, key, { task, config: { [name]: value } }, `${task}: ${name} = ${configText(value)}`);
      });
    }

    // Drawer.
    function select(task) {
      if (task !== selected && stateBox) stateBox.replaceChildren();
      selected = task;
      drawer.hidden = task === null;
      drawer.dataset.task = task || '';
      for (const [name, g] of nodes) g.classList.toggle('selected', name === task);
      for (const box of $$('.task-controls', drawer)) box.hidden = box.dataset.task !== task;
      for (const row of $$('.timeline-row', drawer)) row.classList.toggle('selected', row.dataset.task === task);
      if (task) {
        renderDrawer();
        refreshSide();
        if (tab === 'timeline') scheduleTimelines();
        viewed();
      }
      syncFlame();
    }

    // viewed tells the page (a lesson: lesson.js) which tab of which task
    // the learner has in front of them, for goals such as
    // opened(enrich, flamegraph).
    function viewed() {
      document.dispatchEvent(new CustomEvent('flowlab:view', { detail: { task: selected, view: tab } }));
    }

    // syncFlame polls the selected task's flame graph while its tab is
    // open, and stops when the tab or the drawer closes.
    function syncFlame() {
      if (!flame) return;
      if (tab !== 'flamegraph' || !selected || drawer.hidden) { flame.hide(); return; }
      const v = vertexOf(selected);
      const g = nodes.get(selected);
      const fromNode = g ? parseInt(($('[data-field=parallelism]', g) || {}).textContent?.replace(/\D+/g, '') || '', 10) : NaN;
      flame.show(selected, v ? v.parallelism : fromNode || 1);
    }

    function vertexOf(task) {
      return frame ? frame.vertices.find((v) => v.name === task) : null;
    }

    function renderDrawer() {
      const v = vertexOf(selected);
      const g = nodes.get(selected);
      $('[data-field=name]', drawer).textContent = selected;
      const sw = $('.drawer-swatch', drawer);
      sw.style.background = g.dataset.fill;
      sw.style.borderColor = g.dataset.border;
      if (!v) return;
      $('[data-field=summary]', drawer).textContent =
        `parallelism ${v.parallelism} · busy ${pct(v.busy)} · backpressured ${pct(v.backPressured)} · ${perSecond(v.numRecordsInPerSecond)} in/s · ${perSecond(v.numRecordsOutPerSecond)} out/s`;
      const level = $('[data-field=level]', drawer);
      level.textContent = v.level;
      level.className = 'level level-' + v.level;
      if (tab === 'backpressure') renderBackpressure(v);
      if (tab === 'metrics') renderMetrics(v);
      if (tab === 'flamegraph') syncFlame();
    }

    const levelRank = { ok: 0, low: 1, high: 2 };
    function renderBackpressure(v) {
      const rows = v.subtasks.slice().sort((a, b) => {
        const key = sort.key;
        const x = key === 'level' ? levelRank[a['backpressure-level']] : a[key] ?? -1;
        const y = key === 'level' ? levelRank[b['backpressure-level']] : b[key] ?? -1;
        return (x - y) * sort.dir || a.subtask - b.subtask;
      });
      $('[data-testid=bp-table] tbody', drawer).replaceChildren(...rows.map((s) => el('tr', { 'data-testid': 'bp-row', 'data-subtask': s.subtask, 'data-level': s['backpressure-level'] },
        el('td', {}, '#' + s.subtask),
        el('td', {}, el('span', { class: 'level level-' + s['backpressure-level'] }, s['backpressure-level'])),
        timeCell(s.ratio, 'backPressuredTimeMsPerSecond', s.subtask),
        timeCell(s.busyRatio, 'busyTimeMsPerSecond', s.subtask),
        timeCell(s.idleRatio, 'idleTimeMsPerSecond', s.subtask))));
    }

    // timeCell shows a ratio as Flink's time metric: ms per second, and the
    // percentage the BackPressure tab of Flink shows.
    function timeCell(ratio, metric, subtask) {
      const ms = msPerSecond(ratio);
      return el('td', { class: 'num', 'data-metric': metric, title: `${metric} of subtask #${subtask}: ${ms}` },
        ms, el('span', { class: 'pct' }, ratioPct(ratio)));
    }

    // nodeTitle is a node's tooltip: its name and Flink's time metrics, the
    // max over its subtasks as the node's percentages are.
    function nodeTitle(v) {
      const most = (key) => {
        const xs = v.subtasks.map((s) => s[key]).filter((x) => x !== null && x !== undefined);
        return xs.length === v.subtasks.length && xs.length ? Math.max(...xs) : null;
      };
      return [v.name,
        'busyTimeMsPerSecond (max): ' + msPerSecond(most('busyRatio')),
        'backPressuredTimeMsPerSecond (max): ' + msPerSecond(most('ratio')),
        'idleTimeMsPerSecond (max): ' + msPerSecond(most('idleRatio'))].join('\n');
    }

    function gauge(x) {
      const fill = el('div', { class: 'gauge-fill' + (x >= 0.9 ? ' full' : x >= 0.5 ? ' warn' : '') });
      fill.style.width = Math.round(Math.min(1, Math.max(0, x || 0)) * 100) + '%';
      return el('span', { class: 'gauge' }, el('span', { class: 'gauge-bar' }, fill), el('span', { class: 'gauge-text' }, ratioPct(x)));
    }

    function renderMetrics(v) {
      $('[data-testid=metrics-table] tbody', drawer).replaceChildren(...v.subtasks.map((s) => el('tr', { 'data-testid': 'metrics-row', 'data-subtask': s.subtask },
        el('td', {}, '#' + s.subtask),
        el('td', { class: 'num' }, perSecond(s.numRecordsInPerSecond)),
        el('td', { class: 'num' }, perSecond(s.numRecordsOutPerSecond)),
        el('td', {}, gauge(s['buffers.inPoolUsage'])),
        el('td', {}, gauge(s['buffers.outPoolUsage'])),
        el('td', {}, gauge(s['buffers.inputExclusiveBuffersUsage'])),
        el('td', {}, gauge(s['buffers.inputFloatingBuffersUsage'])),
        latencyCell(s.latency))));
      $('[data-testid=metrics-table] tfoot', drawer).replaceChildren(el('tr', {},
        el('td', {}, 'Task'), el('td', { class: 'num' }, perSecond(v.numRecordsInPerSecond)),
        el('td', { class: 'num' }, perSecond(v.numRecordsOutPerSecond)), el('td', { colspan: 4 }, ''),
        latencyCell(v.latency)));
    }

    // latencyCell is a Metrics tab cell with p50 / p99 (ms), and every number in its title.
    function latencyCell(l) {
      if (!l) return el('td', { class: 'num', 'data-field': 'latency', title: 'no records taken in (a source, or idle)' }, '–');
      return el('td', { class: 'num', 'data-field': 'latency', 'data-p50': String(l.p50), 'data-p99': String(l.p99),
        title: `p50 ${l.p50} ms, p95 ${l.p95} ms, p99 ${l.p99} ms, max ${l.max} ms, mean ${l.mean} ms` },
      latencyMs(l.p50) + ' / ' + latencyMs(l.p99));
    }

    // Timeline: one canvas per task, redrawn at most once per animation frame.
    let timelinePending = false;
    function scheduleTimelines() {
      if (timelinePending) return;
      timelinePending = true;
      requestAnimationFrame(() => { timelinePending = false; drawTimelines(); });
    }

    function drawTimelines() {
      if (tab !== 'timeline' || drawer.hidden) return;
      const end = frame ? frame.timestamp : Date.now();
      for (const canvas of $$('.timeline-canvas', drawer)) {
        if (canvas.dataset.series === 'latency') drawLatency(canvas, history.get(canvas.dataset.vid), end);
        else drawTimeline(canvas, history.get(canvas.dataset.vid), end);
      }
    }

    // drawLatency draws a task's latency p99 over the last 5 minutes, on a
    // scale that fits the largest value shown (a 1-2-5 step of ms).
    function drawLatency(canvas, h, end) {
      const dpr = window.devicePixelRatio || 1;
      const w = canvas.clientWidth, ht = canvas.clientHeight;
      if (canvas.width !== Math.round(w * dpr)) { canvas.width = Math.round(w * dpr); canvas.height = Math.round(ht * dpr); }
      const c = canvas.getContext('2d');
      c.setTransform(dpr, 0, 0, dpr, 0, 0);
      c.clearRect(0, 0, w, ht);
      let top = 0;
      if (h) for (let i = 0; i < h.t.length; i++) if (end - h.t[i] <= HISTORY_MS && h.p99[i] !== null && h.p99[i] !== undefined) top = Math.max(top, h.p99[i]);
      let scale = 1;
      for (let k = 1; scale < top; k++) scale = [1, 2, 5][k % 3] * 10 ** Math.floor(k / 3);
      const pad = 4;
      const y = (v) => ht - pad - (v / scale) * (ht - 2 * pad);
      const x = (t) => w - ((end - t) / HISTORY_MS) * w;
      c.strokeStyle = '#f0f0f0';
      c.lineWidth = 1;
      for (const v of [0, scale / 2, scale]) { c.beginPath(); c.moveTo(0, y(v) + 0.5); c.lineTo(w, y(v) + 0.5); c.stroke(); }
      c.fillStyle = '#8c8c8c';
      c.font = '10px system-ui, sans-serif';
      c.fillText(scale + ' ms', 4, 12);
      c.fillText('−5 min', 4, ht - 6);
      c.fillText('now', w - 24, ht - 6);
      if (!h) return;
      c.strokeStyle = '#7b3fe4';
      c.lineWidth = 1.5;
      c.beginPath();
      let drawing = false;
      for (let i = 0; i < h.t.length; i++) {
        const v = h.p99[i];
        if (v === null || v === undefined || end - h.t[i] > HISTORY_MS) { drawing = false; continue; }
        if (drawing) c.lineTo(x(h.t[i]), y(v));
        else { c.moveTo(x(h.t[i]), y(v)); drawing = true; }
      }
      c.stroke();
    }

    function drawTimeline(canvas, h, end) {
      const dpr = window.devicePixelRatio || 1;
      const w = canvas.clientWidth, ht = canvas.clientHeight;
      if (canvas.width !== Math.round(w * dpr)) { canvas.width = Math.round(w * dpr); canvas.height = Math.round(ht * dpr); }
      const c = canvas.getContext('2d');
      c.setTransform(dpr, 0, 0, dpr, 0, 0);
      c.clearRect(0, 0, w, ht);
      const pad = 4;
      const y = (p) => ht - pad - (p / 100) * (ht - 2 * pad);
      const x = (t) => w - ((end - t) / HISTORY_MS) * w;
      c.strokeStyle = '#f0f0f0';
      c.lineWidth = 1;
      for (const p of [0, 50, 100]) { c.beginPath(); c.moveTo(0, y(p) + 0.5); c.lineTo(w, y(p) + 0.5); c.stroke(); }
      c.fillStyle = '#8c8c8c';
      c.font = '10px system-ui, sans-serif';
      c.fillText('100%', 4, 12);
      c.fillText('−5 min', 4, ht - 6);
      c.fillText('now', w - 24, ht - 6);
      if (!h) return;
      const line = (values, color) => {
        c.strokeStyle = color;
        c.lineWidth = 1.5;
        c.beginPath();
        let drawing = false;
        for (let i = 0; i < h.t.length; i++) {
          const v = values[i];
          if (v === null || v === undefined || end - h.t[i] > HISTORY_MS) { drawing = false; continue; }
          if (drawing) c.lineTo(x(h.t[i]), y(v));
          else { c.moveTo(x(h.t[i]), y(v)); drawing = true; }
        }
        c.stroke();
      };
      line(h.bp, '#000000');
      line(h.busy, '#ee2222');
    }

    // Logs, failures and keyed state, polled while their tab is open.
    const stateBox = $('[data-testid=state]', drawer);
    async function refreshSide() {
      if (!selected || drawer.hidden) return;
      if (tab === 'state') return refreshState(selected);
      try {
        if (tab === 'logs') {
          const data = await api('GET', `/api/jobs/${jid}/logs?task=${encodeURIComponent(selected)}`);
          const box = $('[data-testid=logs]', drawer);
          box.replaceChildren(...(data.lines.length ? data.lines.map((l) => el('div', { class: 'log-line ' + l.stream, 'data-testid': 'log-line' },
            el('span', { class: 'log-time' }, new Date(l.time).toLocaleTimeString()),
            el('span', { class: 'log-sub' }, '#' + l.subtask),
            el('span', { class: 'log-stream' }, l.stream),
            el('span', { class: 'log-text' }, l.text))) : [el('div', { class: 'log-empty' }, 'Nothing logged yet.')]));
        } else if (tab === 'failures') {
          const data = await api('GET', `/api/jobs/${jid}/failures`);
          const box = $('[data-testid=failures]', drawer);
          box.replaceChildren(...(data.failures.length ? data.failures.slice().reverse().map((f) => el('div', { class: 'log-line failure', 'data-testid': 'failure' },
            el('span', { class: 'log-time' }, new Date(f.time).toLocaleTimeString()),
            el('span', { class: 'log-sub' }, f.task ? `${f.task} #${f.subtask}` : 'job'),
            el('span', { class: 'log-text' }, f.message))) : [el('div', { class: 'log-empty' }, 'No failures.')]));
        }
      } catch (e) { /* shown on the next poll */ }
    }
    setInterval(refreshSide, 1000);

    // refreshState shows the task's keyed state: per subtask its keys, their
    // bytes and the first entries (GET /api/jobs/{jid}/state).
    async function refreshState(task) {
      let data;
      try {
        data = await api('GET', `/api/jobs/${jid}/state?task=${encodeURIComponent(task)}`);
      } catch (e) {
        if (task === selected && tab === 'state') stateBox.replaceChildren(el('div', { class: 'log-empty', 'data-testid': 'state-error' }, e.message));
        return;
      }
      if (task !== selected || tab !== 'state') return;
      if (data.subtasks.every((s) => s.keys === 0)) {
        stateBox.replaceChildren(el('div', { class: 'log-empty', 'data-testid': 'state-empty' }, `No keyed state: the operator of ${task} keeps none (yet).`));
        return;
      }
      stateBox.replaceChildren(...data.subtasks.map((s) => el('div', { class: 'state-subtask', 'data-testid': 'state-subtask', 'data-subtask': s.subtask, 'data-keys': s.keys },
        el('div', { class: 'state-head' }, el('b', {}, '#' + s.subtask),
          el('span', { class: 'state-sub' }, `${s.keys.toLocaleString('en-US')} ${s.keys === 1 ? 'key' : 'keys'} · ${bytes(s.bytes)}` +
            (s.entries.length < s.keys ? ` · the first ${s.entries.length} shown` : ''))),
        s.entries.length
          ? el('table', { class: 'table state-table' },
            el('thead', {}, el('tr', {}, el('th', {}, 'Key'), el('th', {}, 'Value'))),
            el('tbody', {}, ...s.entries.map((e) => el('tr', { 'data-testid': 'state-entry' }, el('td', { class: 'mono' }, e.key), el('td', { class: 'mono' }, e.value)))))
          : el('div', { class: 'log-empty' }, 'No keys.'))));
    }

    // Events.
    for (const [name, g] of nodes) {
      g.addEventListener('click', () => select(selected === name ? null : name));
      g.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); select(name); } });
    }
    $('[data-action=close-drawer]', drawer).addEventListener('click', () => select(null));
    document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && selected) select(null); });
    for (const t of $$('.tab', drawer)) {
      t.addEventListener('click', () => {
        tab = t.dataset.tab;
        for (const o of $$('.tab', drawer)) { o.classList.toggle('active', o === t); o.setAttribute('aria-selected', String(o === t)); }
        for (const p of $$('.tab-panel', drawer)) p.hidden = p.dataset.panel !== tab;
        renderDrawer();
        refreshSide();
        scheduleTimelines();
        syncFlame();
        if (selected) viewed();
      });
    }
    for (const th of $$('[data-testid=bp-table] th[data-sort]', drawer)) {
      th.addEventListener('click', () => {
        sort.dir = sort.key === th.dataset.sort ? -sort.dir : th.dataset.sort === 'subtask' ? 1 : -1;
        sort.key = th.dataset.sort;
        for (const o of $$('th[data-sort]', drawer)) o.classList.remove('sorted-asc', 'sorted-desc');
        th.classList.add(sort.dir > 0 ? 'sorted-asc' : 'sorted-desc');
        if (selected) renderDrawer();
      });
    }

    const patch = (change) => api('PATCH', '/api/jobs/' + jid, change).then(() => true, (e) => { toast(e.message); return false; });
    for (const box of $$('.task-controls', drawer)) {
      const task = box.dataset.task;
      const current = () => latest.get(task);

      const cost = $('[data-testid=control-cost]', box), costMs = $('[data-testid=control-cost-ms]', box);
      editing(task, task + '/cost', cost, costMs);
      cost.addEventListener('input', () => { costMs.value = numberText(Number(cost.value) / 1000); });
      const setCost = (ms) => {
        const key = task + '/cost';
        if (!Number.isFinite(ms) || ms < 0) return refuse(task, key, `${task}: the cost is a number of milliseconds per record, 0 or more`);
        const us = Math.round(ms * 1000);
        if (current() && micros(current().cost) === us && Math.abs(ms * 1000 - us) < 1e-6) return unchanged(task, key);
        costMs.value = numberText(ms);
        if (us > Number(cost.max)) cost.max = String(us);
        cost.value = String(us);
        commit(task, key, { task, cost: numberText(ms) + 'ms' });
      };
      cost.addEventListener('change', () => setCost(Number(cost.value) / 1000));
      costMs.addEventListener('change', () => setCost(parseNumber(costMs.value)));

      const rate = $('[data-testid=control-rate]', box), rateValue = $('[data-testid=control-rate-value]', box);
      if (rate) {
        editing(task, task + '/rate', rate, rateValue);
        rate.addEventListener('input', () => { rateValue.value = rate.value; });
        const setRate = (r) => {
          const key = task + '/rate';
          if (!Number.isFinite(r) || r < 0) return refuse(task, key, `${task}: the rate is a number of records per second, 0 or more (0: as fast as possible)`);
          if (current() && current().rate === r) return unchanged(task, key);
          rateValue.value = numberText(r);
          if (r > Number(rate.max)) rate.max = String(r);
          rate.value = String(r);
          commit(task, key, { task, rate: r });
        };
        rate.addEventListener('change', () => setRate(Number(rate.value)));
        rateValue.addEventListener('change', () => setRate(parseNumber(rateValue.value)));
      }

      const par = $('[data-testid=control-parallelism]', box);
      editing(task, task + '/parallelism', par);
      par.addEventListener('change', () => {
        const key = task + '/parallelism', n = parseNumber(par.value);
        if (!Number.isInteger(n) || n < 1 || n > 128) return refuse(task, key, `${task}: the parallelism is a whole number from 1 to 128`);
        if (current() && current().parallelism === n) return unchanged(task, key);
        par.value = String(n);
        commit(task, key, { task, parallelism: n });
      });
      for (const b of $$('[data-step]', box)) {
        b.addEventListener('click', () => {
          par.value = String(Math.min(128, Math.max(1, parseNumber(par.value) + Number(b.dataset.step))));
          par.dispatchEvent(new Event('change'));
        });
      }

      const op = $('[data-testid=control-operator]', box);
      if (op) {
        op.addEventListener('change', () => {
          if (current() && current().operator === op.value) return;
          commit(task, task + '/operator', { task, operator: op.value }, `${task} runs ${op.value}`);
        });
      }
      for (const input of $$('[data-testid=control-config]', box)) wireConfig(input, task, box);
      const field = $('[data-testid=control-config-field]', box);
      if (field) {
        const value = $('[data-testid=control-config-value]', box);
        const set = async () => {
          const name = field.value.trim(), v = value.value.trim();
          if (!name || !v) return;
          await commit(task, task + '/config-new', { task, config: { [name]: configValue(v) } }, `${task}: ${name} = ${v}`);
          if ($('[data-testid=control-error]', box).hidden) { field.value = ''; value.value = ''; }
        };
        $('[data-testid=control-config-set]', box).addEventListener('click', set);
        value.addEventListener('keydown', (e) => { if (e.key === 'Enter') set(); });
      }
    }
    if ($('[data-testid=control-pause]', main)) {
      $('[data-testid=control-pause]', main).addEventListener('click', (e) => patch({ paused: e.currentTarget.dataset.paused !== 'true' }));
      $('[data-testid=control-restart]', main).addEventListener('click', () => patch({ restart: true }));
      $('[data-testid=control-window]', main).addEventListener('change', (e) => patch({ window: e.currentTarget.value }));
      $('[data-testid=control-debloat]', main).addEventListener('change', (e) => {
        const v = e.currentTarget.value;
        patch({ bufferDebloat: v === 'off' ? { off: true } : { target: v } }).then((ok) => { if (ok) toast(v === 'off' ? 'Buffer debloating off: the job restarts' : `Buffer debloating to ${v}: the job restarts`, false); });
      });
      $('[data-testid=control-stop]', main).addEventListener('click', async () => {
        try { await api('DELETE', '/api/jobs/' + jid); location.replace('/?job=' + encodeURIComponent(jid)); } catch (e) { toast(e.message); }
      });
    }

    // Diagnosis: redrawn when the findings change; a finding's evidence
    // numbers are refreshed in place, so an opened Evidence stays open.
    let findingsKey = null;
    function applyDiagnosis(findings) {
      const key = JSON.stringify(findings.map((f) => [f.kind, f.title, f.tasks, f.advice, f.evidence.length]));
      const list = $('[data-testid=findings]', diagnosis);
      if (key === findingsKey) {
        $$('[data-testid=finding]', list).forEach((li, i) => {
          $$('.finding-evidence li', li).forEach((item, k) => { item.textContent = findings[i].evidence[k].text; });
        });
        return;
      }
      findingsKey = key;
      const open = new Set($$('[data-testid=finding]', list).filter((li) => $('details[open]', li)).map((li) => li.dataset.kind));
      list.replaceChildren(...findings.map((f) => drawFinding(f, open.has(f.kind))));
      $('[data-testid=diagnosis-empty]', diagnosis).hidden = findings.length > 0;
    }

    // drawFinding mirrors components.diagnosisFinding.
    const kindLabels = { bottleneck: 'Bottleneck', skew: 'Data skew', 'legacy-source': 'Legacy source', network: 'Network', 'varying-load': 'Varying load', healthy: 'Healthy' };
    function drawFinding(f, open) {
      const li = el('li', { class: 'finding finding-' + f.kind, 'data-testid': 'finding', 'data-kind': f.kind, 'data-tasks': f.tasks.join(',') },
        el('div', { class: 'finding-head' },
          el('span', { class: 'finding-kind' }, kindLabels[f.kind] || f.kind),
          el('span', { class: 'finding-title', 'data-field': 'title' }, f.title)),
        el('p', { class: 'finding-advice', 'data-field': 'advice' }, f.advice));
      if (f.evidence.length) {
        const details = el('details', { class: 'finding-evidence' }, el('summary', {}, 'Evidence'), el('ul', {}, ...f.evidence.map((e) => el('li', {}, e.text))));
        details.open = open;
        li.append(details);
      }
      return li;
    }

    // Checkpoints view: polled (GET /jobs/{jid}/checkpoints and its config)
    // once a second while it is shown, rather than sent in the websocket
    // frames: checkpoints change at most once an interval, their history
    // would weigh on every frame of every watcher at every tick, and a view
    // nobody opens then costs nothing, as the Logs and Failures tabs.
    const cpView = $('[data-testid=checkpoints]', main);
    const cpControl = $('[data-testid=control-checkpoint]', main);
    const graphArea = $('.graph-area', main);
    const cpSeen = new Map(); // checkpoint id -> {t, e2e, failed}: the chart, kept while the page is open
    let view = 'overview';
    let cpBusy = false;

    function showView(name) {
      if (!cpView) return;
      view = name;
      for (const o of $$('[data-testid=job-tabs] .tab', main)) {
        o.classList.toggle('active', o.dataset.view === name);
        o.setAttribute('aria-selected', String(o.dataset.view === name));
      }
      // The checkpoints take the graph's place; a lesson stays beside them.
      cpView.hidden = name !== 'checkpoints';
      graphArea.hidden = name === 'checkpoints';
      if (diagnosis) diagnosis.hidden = name === 'checkpoints';
      window.history.replaceState(null, '', name === 'checkpoints' ? '#checkpoints' : location.pathname + location.search);
      if (name === 'checkpoints') {
        select(null);
        refreshCheckpoints();
      }
    }

    async function refreshCheckpoints() {
      if (!cpView || view !== 'checkpoints' || document.hidden || cpBusy) return;
      cpBusy = true;
      const err = $('[data-testid=checkpoints-error]', cpView);
      try {
        const [stats, config] = await Promise.all([api('GET', `/jobs/${jid}/checkpoints`), api('GET', `/jobs/${jid}/checkpoints/config`)]);
        renderCheckpoints(stats, config);
        err.hidden = true;
      } catch (e) {
        if (e.status === 404) showCheckpoints(false);
        err.textContent = e.status === 404 ? '' : e.message;
        err.hidden = e.status === 404;
      } finally {
        cpBusy = false;
      }
    }

    // showCheckpoints shows the numbers, or how to turn checkpoints on; the
    // header's control follows (the job may have been changed elsewhere).
    function showCheckpoints(on, config) {
      $('[data-testid=checkpoints-on]', cpView).hidden = !on;
      $('[data-testid=checkpoints-off]', cpView).hidden = on;
      if (!cpControl || document.activeElement === cpControl) return;
      if (!on) { cpControl.value = 'off'; return; }
      const every = goDuration(config.interval);
      if (cpControl.dataset.interval !== every) {
        cpControl.dataset.interval = every;
        for (const o of $$('option', cpControl)) if (o.value !== 'off') o.textContent = `${o.value}, every ${every}`;
      }
      cpControl.value = config.unaligned_checkpoints ? 'unaligned' : 'aligned';
    }

    function renderCheckpoints(stats, config) {
      showCheckpoints(true, config);
      const facts = (id, values) => {
        for (const [k, v] of Object.entries(values)) $(`[data-testid=${id}] [data-field="${k}"]`, cpView).textContent = v;
      };
      const c = stats.counts;
      facts('checkpoint-counts', { total: c.total, in_progress: c.in_progress, completed: c.completed, failed: c.failed, restored: c.restored });
      facts('checkpoint-config', {
        interval: duration(config.interval), mode: config.unaligned_checkpoints ? 'unaligned' : 'aligned', timeout: duration(config.timeout),
        'aligned-timeout': config.aligned_checkpoint_timeout ? duration(config.aligned_checkpoint_timeout) : '0 (never)',
      });
      const failure = $('[data-testid=checkpoint-failure]', cpView);
      const f = stats.latest.failed;
      failure.textContent = f ? `Checkpoint ${f.id} failed at ${new Date(f.failure_timestamp).toLocaleTimeString()}: ${f.failure_message || 'no message'}` : '';
      failure.hidden = !f;

      for (const cp of stats.history) {
        if (cp.status !== 'IN_PROGRESS') cpSeen.set(cp.id, { t: cp.trigger_timestamp, e2e: cp.end_to_end_duration, failed: cp.status === 'FAILED' });
      }
      const end = frame ? frame.timestamp : Date.now();
      for (const [id, p] of cpSeen) if (end - p.t > HISTORY_MS) cpSeen.delete(id);
      drawCheckpointChart(end);

      const statusText = { COMPLETED: 'completed', FAILED: 'failed', IN_PROGRESS: 'in progress' };
      const rows = [];
      for (const cp of stats.history) {
        rows.push(historyRow(cp, statusText));
        if (cp.id === cpOpen.id) {
          rows.push(cpOpen.row);
          if (cp.status === 'IN_PROGRESS' || cpOpen.status !== cp.status) loadDetails(cp.id, cp.status);
        }
      }
      $('[data-testid=checkpoint-history] tbody', cpView).replaceChildren(...rows);
    }

    // A history row opens, below it, the checkpoint's numbers per task and
    // subtask (Flink's checkpoint details): fetched once it has ended, every
    // refresh while it is in progress.
    const cpOpen = { id: null, status: '', row: null };

    async function loadDetails(id, status) {
      cpOpen.status = status;
      const cell = $('td', cpOpen.row);
      try {
        const d = await api('GET', `/jobs/${jid}/checkpoints/details/${id}`);
        const vertices = frame ? frame.vertices : [];
        const names = new Map(vertices.map((v) => [v.id, v.name]));
        const order = (vid) => { const i = vertices.findIndex((v) => v.id === vid); return i < 0 ? vertices.length : i; };
        const tasks = await Promise.all(Object.keys(d.tasks).sort((a, b) => order(a) - order(b)).map((vid) => api('GET', `/jobs/${jid}/checkpoints/details/${id}/subtasks/${vid}`)
          .then((t) => ({ vid, name: names.get(vid) || vid, t }))));
        if (cpOpen.id !== id) return;
        cell.replaceChildren(...tasks.map(({ vid, name, t }) => el('div', { class: 'checkpoint-task', 'data-testid': 'checkpoint-task', 'data-task': name },
          el('div', { class: 'checkpoint-task-head' }, el('strong', {}, name),
            ` · ${t.num_acknowledged_subtasks}/${t.num_subtasks} acknowledged · end to end ${duration(t.end_to_end_duration)} · checkpointed ${bytes(t.checkpointed_size)} · processed ${bytes(t.processed_data)} · persisted ${bytes(t.persisted_data)}`),
          el('table', { class: 'table' },
            el('thead', {}, el('tr', {}, ...['Subtask', 'Status', 'Acknowledged', 'End to end', 'Start delay', 'Alignment', 'Sync', 'Async', 'State', 'Processed', 'Persisted', 'Unaligned']
              .map((h, i) => el('th', { class: i > 1 ? 'num' : '' }, h)))),
            el('tbody', {}, ...t.subtasks.map((st) => el('tr', { 'data-testid': 'checkpoint-subtask', 'data-subtask': st.index, 'data-status': st.status },
              el('td', {}, `#${st.index}`), el('td', {}, st.status === 'completed' ? 'completed' : 'pending'),
              ...(st.status !== 'completed' ? [el('td', { class: 'num', colspan: 10 }, '')] : [
                el('td', { class: 'num' }, new Date(st.ack_timestamp).toLocaleTimeString()),
                el('td', { class: 'num' }, duration(st.end_to_end_duration)),
                el('td', { class: 'num' }, duration(st.start_delay)),
                el('td', { class: 'num' }, duration(st.alignment.duration)),
                el('td', { class: 'num' }, duration(st.checkpoint.sync)),
                el('td', { class: 'num' }, duration(st.checkpoint.async)),
                el('td', { class: 'num' }, bytes(st.state_size)),
                el('td', { class: 'num' }, bytes(st.alignment.processed)),
                el('td', { class: 'num' }, bytes(st.alignment.persisted)),
                el('td', { class: 'num' }, st.unaligned_checkpoint ? 'yes' : 'no')]))))))));
      } catch (e) {
        if (cpOpen.id === id) cell.replaceChildren(el('p', { class: 'control-error' }, e.message));
      }
    }

    function toggleDetails(id, status) {
      if (cpOpen.id === id) {
        cpOpen.id = null;
        cpOpen.row?.remove();
        return;
      }
      cpOpen.id = id;
      cpOpen.row = el('tr', { class: 'checkpoint-details', 'data-testid': 'checkpoint-details', 'data-id': id }, el('td', { colspan: 10 }, 'Loading…'));
      const row = $(`[data-testid=checkpoint-row][data-id="${id}"]`, cpView);
      row?.after(cpOpen.row);
      loadDetails(id, status);
    }

    if (cpView) {
      $('[data-testid=checkpoint-history] tbody', cpView).addEventListener('click', (e) => {
        const row = e.target.closest('[data-testid=checkpoint-row]');
        if (row) toggleDetails(Number(row.dataset.id), row.dataset.status);
      });
    }

    function historyRow(cp, statusText) {
      return el('tr', {
        'data-testid': 'checkpoint-row', 'data-id': cp.id, 'data-status': cp.status, class: 'checkpoint-row',
        title: cp.failure_message || 'Click for its numbers per task and subtask',
      },
      el('td', {}, String(cp.id)),
      el('td', {}, el('span', { class: 'checkpoint-status checkpoint-' + cp.status }, statusText[cp.status] || cp.status)),
      el('td', {}, cp.checkpoint_type === 'UNALIGNED_CHECKPOINT' ? 'unaligned' : 'aligned'),
      el('td', {}, new Date(cp.trigger_timestamp).toLocaleTimeString()),
      el('td', { class: 'num' }, duration(cp.end_to_end_duration)),
      el('td', { class: 'num' }, bytes(cp.checkpointed_size)),
      el('td', { class: 'num' }, bytes(cp.processed_data)),
      el('td', { class: 'num' }, bytes(cp.persisted_data)),
      el('td', { class: 'num' }, duration(cp.max_alignment_duration)),
      el('td', { class: 'num' }, `${cp.num_acknowledged_subtasks}/${cp.num_subtasks}`));
    }

    // drawCheckpointChart draws each checkpoint's end-to-end duration at its
    // trigger time over the last 5 minutes, on a 1-2-5 scale of ms, as the
    // Timeline tab's latency.
    function drawCheckpointChart(end) {
      const canvas = $('[data-testid=checkpoint-chart]', cpView);
      const dpr = window.devicePixelRatio || 1;
      const w = canvas.clientWidth, ht = canvas.clientHeight;
      if (!w || !ht) return;
      if (canvas.width !== Math.round(w * dpr)) { canvas.width = Math.round(w * dpr); canvas.height = Math.round(ht * dpr); }
      const ctx = canvas.getContext('2d');
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, w, ht);
      const points = [...cpSeen.values()].sort((a, b) => a.t - b.t);
      let top = 0;
      for (const p of points) top = Math.max(top, p.e2e);
      let scale = 1;
      for (let k = 1; scale < top; k++) scale = [1, 2, 5][k % 3] * 10 ** Math.floor(k / 3);
      const pad = 6;
      const y = (v) => ht - pad - (Math.max(0, v) / scale) * (ht - 2 * pad);
      const x = (t) => w - ((end - t) / HISTORY_MS) * w;
      ctx.strokeStyle = '#f0f0f0';
      ctx.lineWidth = 1;
      for (const v of [0, scale / 2, scale]) { ctx.beginPath(); ctx.moveTo(0, y(v) + 0.5); ctx.lineTo(w, y(v) + 0.5); ctx.stroke(); }
      ctx.fillStyle = '#8c8c8c';
      ctx.font = '10px system-ui, sans-serif';
      ctx.fillText(duration(scale), 4, 12);
      ctx.fillText('−5 min', 4, ht - 6);
      ctx.fillText('now', w - 24, ht - 6);
      const completed = points.filter((p) => !p.failed);
      ctx.strokeStyle = '#1890ff';
      ctx.fillStyle = '#1890ff';
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      completed.forEach((p, i) => (i ? ctx.lineTo(x(p.t), y(p.e2e)) : ctx.moveTo(x(p.t), y(p.e2e))));
      ctx.stroke();
      for (const p of completed) { ctx.beginPath(); ctx.arc(x(p.t), y(p.e2e), 2.5, 0, 2 * Math.PI); ctx.fill(); }
      ctx.strokeStyle = '#ee2222';
      for (const p of points.filter((q) => q.failed)) {
        const px = x(p.t), py = y(p.e2e);
        ctx.beginPath(); ctx.moveTo(px - 3, py - 3); ctx.lineTo(px + 3, py + 3); ctx.moveTo(px + 3, py - 3); ctx.lineTo(px - 3, py + 3); ctx.stroke();
      }
    }

    if (cpView) {
      for (const t of $$('[data-testid=job-tabs] .tab', main)) t.addEventListener('click', () => showView(t.dataset.view));
      for (const b of $$('[data-testid=checkpoints-enable]', cpView)) {
        b.addEventListener('click', () => {
          cpControl.value = b.dataset.mode;
          cpControl.dispatchEvent(new Event('change'));
        });
      }
      setInterval(refreshCheckpoints, 1000);
      document.addEventListener('visibilitychange', refreshCheckpoints);
      if (location.hash === '#checkpoints') showView('checkpoints');
    }
    if (cpControl) {
      let current = cpControl.value;
      cpControl.addEventListener('change', async () => {
        const v = cpControl.value, every = cpControl.dataset.interval;
        const ok = await patch({ checkpoint: v === 'off' ? { off: true } : { mode: v, interval: every } });
        if (!ok) { cpControl.value = current; return; }
        current = v;
        toast((v === 'off' ? 'Checkpoints off' : `Checkpoints ${v}, every ${every}`) + ': the job restarts, from its latest completed checkpoint if it has one', false);
        refreshCheckpoints();
      });
    }

    // A cluster's job: say whether the cluster answers.
    const clusterStatus = $('[data-testid=cluster-status]', main);
    async function refreshCluster() {
      try {
        const data = await api('GET', '/api/attach');
        const c = data.clusters.find((c) => c.jobs.includes(jid));
        if (!c) clusterStatus.textContent = 'The cluster no longer lists this job.';
        else if (!c.connected) clusterStatus.textContent = 'The cluster does not answer: ' + c.error + ' Showing what was last read.';
        else clusterStatus.textContent = '';
        clusterStatus.classList.toggle('error', !c || !c.connected);
      } catch (e) { /* the next poll says */ }
    }
    if (clusterStatus) { refreshCluster(); setInterval(refreshCluster, 3000); }
    window.addEventListener('resize', scheduleTimelines);
    connect();
  }

  // ------------------------------------------------------------------ starter

  // starter starts the job a page without one offers (a GET starts no job):
  // it POSTs the page's spec, if any, then goes to the new job; on an error
  // (a limit, say) it stays and says why.
  async function starter(main) {
    const spec = $('template[data-field=spec]', main);
    try {
      const data = await api('POST', main.dataset.startUrl, spec ? spec.content.textContent : undefined, 'application/yaml');
      location.replace(main.dataset.startThen + encodeURIComponent(data.jid));
    } catch (e) {
      $('[data-field=title]', main).textContent = 'The job could not start';
      const notice = $('[data-testid=notice]', main);
      notice.textContent = e.message;
      notice.hidden = false;
      $('[data-field=submit]', main).hidden = false;
    }
  }

  // -------------------------------------------------------------------- editor

  function editor(page) {
    const ta = $('[data-testid=editor]', page);
    const gutter = $('.gutter', page);
    const list = $('[data-testid=editor-errors]', page);
    let errorLines = new Map();

    function renderGutter() {
      const n = ta.value.split('\n').length;
      const rows = [];
      for (let i = 1; i <= n; i++) {
        const d = el('div', { 'data-line': i }, i);
        if (errorLines.has(i)) { d.className = 'error'; d.title = errorLines.get(i).join('\n'); }
        rows.push(d);
      }
      gutter.replaceChildren(...rows);
      gutter.scrollTop = ta.scrollTop;
    }

    function goToLine(line) {
      const lines = ta.value.split('\n');
      if (line < 1 || line > lines.length) return;
      let start = 0;
      for (let i = 0; i < line - 1; i++) start += lines[i].length + 1;
      ta.focus();
      ta.setSelectionRange(start, start + lines[line - 1].length);
      ta.scrollTop = Math.max(0, (line - 5) * 20);
    }

    function showErrors(errs) {
      errorLines = new Map();
      list.replaceChildren(...errs.map((e) => {
        if (e.line) errorLines.set(e.line, [...(errorLines.get(e.line) || []), e.text]);
        const li = el('li', { class: 'editor-error', 'data-testid': 'editor-error', 'data-line': e.line || 0 }, e.text);
        if (e.line) li.addEventListener('click', () => goToLine(e.line));
        return li;
      }));
      list.hidden = errs.length === 0;
      renderGutter();
    }

    ta.addEventListener('input', renderGutter);
    ta.addEventListener('scroll', () => { gutter.scrollTop = ta.scrollTop; });
    ta.addEventListener('keydown', (e) => {
      if (e.key === 'Tab' && !e.shiftKey) { e.preventDefault(); ta.setRangeText('  ', ta.selectionStart, ta.selectionEnd, 'end'); renderGutter(); }
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); start(); }
    });
    for (const item of $$('[data-testid=gallery-item]', page)) {
      item.addEventListener('click', () => {
        ta.value = $('template', item).content.textContent;
        for (const o of $$('[data-testid=gallery-item]', page)) o.classList.toggle('selected', o === item);
        showErrors([]);
        ta.scrollTop = 0;
      });
    }

    const startButton = $('[data-testid=editor-start]', page);
    async function start() {
      const replace = $('[data-field=replace]', page);
      const url = '/api/jobs' + (replace && replace.checked ? '?replace=' + encodeURIComponent(replace.value) : '');
      startButton.disabled = true;
      try {
        const data = await api('POST', url, ta.value, 'application/yaml');
        location.href = '/?job=' + encodeURIComponent(data.jid);
      } catch (e) {
        const details = e.data && e.data.details;
        if (details) showErrors(details.map((d, i) => ({ line: d.line, text: e.data.errors[i] })));
        else showErrors(e.message.split('\n').map((text) => ({ line: 0, text })));
        startButton.disabled = false;
      }
    }
    startButton.addEventListener('click', start);
    renderGutter();
  }

  // ----------------------------------------------------------------- operators

  function operators(page) {
    const form = $('[data-testid=upload-form]', page);
    const errBox = $('[data-testid=upload-error]', page);
    const okBox = $('[data-testid=upload-ok]', page);
    const submit = $('[data-testid=upload-submit]', page);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      errBox.hidden = okBox.hidden = true;
      const data = new FormData(form);
      if (!data.get('name')) data.delete('name');
      submit.disabled = true;
      try {
        const op = await api('POST', '/api/operators', data);
        okBox.textContent = `Uploaded and compiled ${op.name} (${(op.size / 1024).toFixed(1)} KiB). Use it in a job spec as operator: ${op.name}`;
        okBox.hidden = false;
        await refreshList();
      } catch (err) {
        errBox.textContent = err.status ? err.message : 'The upload failed: the file may be too large, or the server is not reachable.';
        errBox.hidden = false;
      } finally {
        submit.disabled = false;
      }
    });

    const kinds = { upload: 'uploaded in this session', bundled: 'bundled example (Wasm)', builtin: 'built-in' };
    async function refreshList() {
      const data = await api('GET', '/api/operators');
      $('[data-testid=operator-table] tbody', page).replaceChildren(...data.operators.map((op) => el('tr', { 'data-testid': 'operator', 'data-name': op.name, 'data-kind': op.kind },
        el('td', {}, el('code', {}, op.name)),
        el('td', {}, kinds[op.kind] || op.kind),
        el('td', { class: 'num' }, op.size ? (op.size / 1024).toFixed(1) + ' KiB' : ''),
        el('td', {}, op.uploaded ? new Date(op.uploaded).toLocaleTimeString('en-GB') : ''))));
    }
  }

  // -------------------------------------------------------------------- attach

  function attachPage(page) {
    const form = $('[data-testid=attach-form]', page);
    if (form) {
      const errBox = $('[data-testid=attach-error]', page);
      const submit = $('[data-testid=attach-submit]', page);
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        errBox.hidden = true;
        const headers = {};
        for (const line of $('[data-testid=attach-headers]', page).value.split('\n')) {
          if (!line.trim()) continue;
          const i = line.indexOf(':');
          if (i <= 0) { errBox.textContent = `A header is "Name: value", not "${line.trim()}"`; errBox.hidden = false; return; }
          headers[line.slice(0, i).trim()] = line.slice(i + 1).trim();
        }
        submit.disabled = true;
        submit.textContent = 'Connecting…';
        try {
          const st = await api('POST', '/api/attach', { url: $('[data-testid=attach-url]', page).value, interval: $('[data-testid=attach-interval]', page).value, headers });
          location.href = st.jobs.length ? '/?job=' + encodeURIComponent(st.jobs[0]) : '/attach';
        } catch (err) {
          errBox.textContent = err.message;
          errBox.hidden = false;
          submit.disabled = false;
          submit.textContent = 'Watch';
        }
      });
    }
    const detach = $('[data-testid=detach]', page);
    if (detach) detach.addEventListener('click', async () => {
      try { await api('DELETE', '/api/attach'); location.reload(); } catch (e) { toast(e.message); }
    });
  }

  document.addEventListener('DOMContentLoaded', () => {
    const att = $('[data-testid=attach-page]');
    if (att) attachPage(att);
    const main = $('[data-testid=playground]');
    if (main) playground(main);
    const start = $('[data-testid=job-start]');
    if (start) starter(start);
    const ed = $('[data-testid=editor-page]');
    if (ed) editor(ed);
    const ops = $('[data-testid=operators-page]');
    if (ops) operators(ops);
  });
})();
