// Flowlab's flame graphs: the Flame Graph tab of the task drawer, as in
// Flink's web UI (which draws d3-flame-graph). The server samples a task's
// subtasks while someone asks (GET /jobs/{jid}/vertices/{vid}/flamegraph,
// Flink's JSON); this script asks every few seconds while the tab is open,
// and draws the latest graph with plain divs, root at the top (an icicle, as pprof's web view draws it: the wide
// frames stay next to the controls in a short drawer). Names come
// from untrusted modules: they only ever go into the page as textContent or
// attributes. app.js drives the panel through window.FlowlabFlame.
(() => {
  'use strict';

  const POLL_MS = 2500; // the server stops sampling 30 s after the last request
  const MIN_LABEL_PX = 28; // narrower frames show their color only
  const MIN_FRAME = 0.0002; // frames narrower than this share of the view are not drawn

  // Colors by kind, each frame's shade picked by a hash of its name so that
  // neighbours differ: guest code warm, host calls purple, operators green,
  // runtime blue-gray, waiting pale.
  const palette = {
    guest: { h: [8, 38], s: [78, 88], l: [56, 66] },
    host: { h: [262, 288], s: [45, 58], l: [64, 72] },
    operator: { h: [88, 128], s: [38, 50], l: [56, 64] },
    runtime: { h: [205, 218], s: [22, 34], l: [62, 72] },
    wait: { h: [195, 205], s: [30, 45], l: [86, 91] },
  };
  const kindText = { guest: 'guest code (Wasm)', host: 'host call', operator: 'operator', runtime: 'runtime', wait: 'waiting (off-CPU)' };
  const kindOf = (k) => (Object.hasOwn(palette, k) ? k : 'runtime');

  function hash(s) {
    let h = 2166136261;
    for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); }
    return (h >>> 0) / 4294967295;
  }
  const mix = ([a, b], t) => a + (b - a) * t;
  function color(kind, name) {
    const p = palette[kindOf(kind)];
    const t = name === undefined ? 0.5 : hash(name);
    return `hsl(${mix(p.h, t).toFixed(0)} ${mix(p.s, 1 - t).toFixed(0)}% ${mix(p.l, (t * 7) % 1).toFixed(0)}%)`;
  }

  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const num = (n) => n.toLocaleString('en-US');
  const percent = (x) => (x >= 0.1 || x === 0 ? (x * 100).toFixed(1) : (x * 100).toPrecision(2)) + '%';

  // tree turns the JSON into nodes with a parent, a depth, an offset in
  // samples from the left of the root, and children sorted by name (so the
  // frames keep their places from one graph to the next). Missing or
  // inconsistent values are clamped: children never outgrow their parent.
  function tree(data) {
    const build = (d, parent, depth, start) => {
      const value = Math.max(0, Number(d && d.value) || 0);
      const n = { name: String(d && d.name !== undefined && d.name !== null ? d.name : ''), kind: kindOf(d && d.kind), value, parent, depth, start, children: [] };
      const kids = Array.isArray(d && d.children) ? d.children.filter((c) => c && typeof c === 'object') : [];
      kids.sort((a, b) => (String(a.name) < String(b.name) ? -1 : String(a.name) > String(b.name) ? 1 : 0));
      const sum = kids.reduce((s, c) => s + Math.max(0, Number(c.value) || 0), 0);
      const scale = sum > value && sum > 0 ? value / sum : 1;
      let x = start;
      for (const c of kids) {
        const child = build(c, n, depth + 1, x);
        if (scale !== 1) scaleTree(child, scale, x);
        x += child.value;
        n.children.push(child);
      }
      return n;
    };
    return build(data, null, 0, 0);
  }
  function scaleTree(n, k, start) {
    n.value *= k;
    n.start = start;
    let x = start;
    for (const c of n.children) { scaleTree(c, k, x); x += c.value; }
  }

  const pathOf = (n) => { const p = []; for (let x = n; x; x = x.parent) p.unshift(x.name); return p; };
  function find(root, path) {
    if (!root || !path || path[0] !== root.name) return null;
    let n = root;
    for (const name of path.slice(1)) {
      n = n.children.find((c) => c.name === name);
      if (!n) return null;
    }
    return n;
  }

  // draw fills box with the frames of root, zoomed into focus: the focus
  // spans the full width, its ancestors full width above it, its
  // descendants below it in proportion. It returns the frames drawn, each
  // div with its node.
  function draw(box, root, focus, rowPx) {
    const frames = [];
    const span = focus.value || 1;
    let depth = 0;
    const add = (n, left, width) => {
      const d = el('div', 'flame-frame');
      d.setAttribute('data-testid', 'flame-frame');
      d.dataset.name = n.name;
      d.dataset.kind = n.kind;
      d.dataset.value = String(Math.round(n.value * 1000) / 1000);
      d.dataset.depth = String(n.depth);
      if (n === focus && n.parent) d.dataset.focus = 'true'; // zoomed into it
      else if (n.depth < focus.depth) d.classList.add('flame-ancestor');
      d.style.left = left * 100 + '%';
      d.style.width = width * 100 + '%';
      d.style.top = n.depth * rowPx + 'px';
      d.style.height = rowPx - 1 + 'px';
      d.style.background = color(n.kind, n.name);
      d.textContent = n.name;
      d.node = n;
      d.share = width;
      frames.push(d);
      depth = Math.max(depth, n.depth);
    };
    for (let a = focus.parent; a; a = a.parent) add(a, 0, 1);
    const walk = (n) => {
      const width = n.value / span;
      if (width < MIN_FRAME) return;
      add(n, (n.start - focus.start) / span, Math.min(1, width));
      for (const c of n.children) walk(c);
    };
    walk(focus);
    box.style.height = (depth + 1) * rowPx + 'px';
    box.replaceChildren(...frames);
    return frames;
  }

  // label hides the names of the frames too narrow to show one.
  function label(box, frames) {
    const w = box.clientWidth;
    for (const f of frames) f.classList.toggle('flame-narrow', f.share * w < MIN_LABEL_PX);
  }

  // ago is how long ago a time (Unix ms) was, as words.
  function ago(ms) {
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 120) return s + ' s ago';
    if (s < 7200) return Math.round(s / 60) + ' min ago';
    return 'at ' + new Date(ms).toLocaleTimeString();
  }

  // errorText is what a failed request says: the server's errors, its text,
  // or the HTTP status.
  async function errorText(res) {
    const status = res.status + (res.statusText ? ' ' + res.statusText : '');
    let body = '';
    try { body = (await res.text()).trim(); } catch (e) { /* none */ }
    try {
      const data = JSON.parse(body);
      if (data && Array.isArray(data.errors) && data.errors.length) return status + ': ' + data.errors.join('; ');
    } catch (e) { /* not JSON */ }
    if (body && body.length <= 300 && !body.startsWith('<')) return status + ': ' + body;
    return status;
  }

  // panel drives the Flame Graph tab. url(task, type, subtask) is the
  // graph's address. show(task, parallelism) opens it on a task (again and
  // again as frames come: only a new task restarts it); hide() stops it.
  function panel(root, url) {
    const q = (sel) => root.querySelector(sel);
    const box = q('[data-testid=flame-graph]');
    const status = q('[data-testid=flame-status]');
    const tip = q('[data-testid=flame-tooltip]');
    const reset = q('[data-testid=flame-reset]');
    const subtaskSelect = q('[data-testid=flame-subtask]');
    const typeButtons = Array.from(q('[data-testid=flame-type]').querySelectorAll('[data-type]'));
    for (const s of root.querySelectorAll('.flame-key')) s.querySelector('.flame-swatch').style.background = color(s.dataset.kind);

    const state = { task: null, parallelism: 0, type: 'on_cpu', subtask: '', zoom: null, graph: null, tree: null, frames: [] };
    let open = false;
    let timer = null;
    let ticker = null;
    let controller = null;
    let generation = 0;
    let lastPointer = 'mouse';
    const rowPx = () => (window.matchMedia('(pointer: coarse)').matches ? 22 : 18);

    function setState(s, text, isError) {
      root.dataset.state = s;
      status.textContent = text;
      status.classList.toggle('error', !!isError);
    }

    function statusText() {
      const g = state.graph;
      if (!g || g.endTimestamp < 0 || !state.tree) return;
      const n = state.tree.value;
      const parts = ['measured ' + ago(g.endTimestamp), num(Math.round(n)) + (Math.round(n) === 1 ? ' sample' : ' samples')];
      if (state.subtask !== '') parts.push('subtask #' + state.subtask);
      setState(n > 0 ? 'ready' : 'empty', parts.join(' · '));
    }

    function render() {
      const t = state.tree;
      if (!t || t.value <= 0) {
        state.frames = [];
        box.replaceChildren();
        box.style.height = '';
        reset.hidden = true;
        delete root.dataset.zoom;
        hideTip();
        return;
      }
      let focus = find(t, state.zoom) || t;
      if (focus === t) state.zoom = null;
      state.frames = draw(box, t, focus, rowPx());
      label(box, state.frames);
      reset.hidden = focus === t;
      if (focus === t) delete root.dataset.zoom; else root.dataset.zoom = focus.name;
      retip();
    }

    function apply(g) {
      state.graph = g;
      if (g.endTimestamp === -3 || (g.endTimestamp < 0 && g.endTimestamp !== -1)) {
        state.tree = null; render();
        setState('collecting', 'Collecting samples…');
        box.replaceChildren(el('div', 'flame-empty', 'Collecting samples… the first graph comes after a 3 s round.'));
        return;
      }
      if (g.endTimestamp === -1 || !g.data) {
        state.tree = null; render();
        setState('not-running', 'The job is not running');
        box.replaceChildren(el('div', 'flame-empty', 'The job is not running: there is nothing to sample.'));
        return;
      }
      state.tree = tree(g.data);
      render();
      statusText();
      if (state.tree.value <= 0) {
        const what = { on_cpu: 'running (On-CPU)', off_cpu: 'waiting (Off-CPU)', full: '' }[state.type];
        box.replaceChildren(el('div', 'flame-empty', 'No samples ' + (what ? 'of the subtask ' + what + ' ' : '') + 'in the last round.'));
      }
    }

    async function poll() {
      clearTimeout(timer);
      timer = null;
      if (!open) return;
      if (document.visibilityState === 'hidden') { timer = setTimeout(poll, POLL_MS); return; }
      const gen = generation;
      if (controller) controller.abort();
      controller = new AbortController();
      try {
        const res = await fetch(url(state.task, state.type, state.subtask), { signal: controller.signal, headers: { Accept: 'application/json' } });
        if (!res.ok) throw new Error(await errorText(res));
        const g = await res.json();
        if (gen !== generation || !open) return;
        if (!g || typeof g.endTimestamp !== 'number') throw new Error('the server answered no flame graph');
        apply(g);
      } catch (e) {
        if (e.name === 'AbortError' || gen !== generation || !open) return;
        state.graph = null; state.tree = null; render();
        const msg = e instanceof TypeError ? 'the server is not reachable' : e.message;
        setState('error', 'The flame graph could not be loaded: ' + msg, true);
      }
      if (gen === generation && open) timer = setTimeout(poll, POLL_MS);
    }

    // restart asks at once for the graph as now chosen, dropping any answer
    // on its way.
    function restart(clear) {
      generation++;
      root.dataset.type = state.type;
      root.dataset.subtask = state.subtask;
      if (clear) {
        state.graph = null; state.tree = null; render();
        setState('loading', 'Loading…');
      }
      poll();
    }

    function options() {
      const keep = state.subtask;
      const opts = [new Option('All subtasks', '')];
      for (let i = 0; i < state.parallelism; i++) opts.push(new Option('Subtask #' + i, String(i)));
      subtaskSelect.replaceChildren(...opts);
      if (keep !== '' && Number(keep) >= state.parallelism) {
        state.subtask = '';
        subtaskSelect.value = '';
        if (open) restart(true);
      } else subtaskSelect.value = keep;
    }

    function show(task, parallelism) {
      const p = Math.max(1, Number(parallelism) || 1);
      const newTask = task !== state.task;
      if (newTask) {
        state.task = task;
        state.subtask = '';
        state.zoom = null;
      }
      if (newTask || p !== state.parallelism) { state.parallelism = p; options(); }
      if (!open || newTask) {
        open = true;
        clearInterval(ticker);
        ticker = setInterval(statusText, 1000);
        restart(newTask || !state.graph);
      }
    }

    function hide() {
      if (!open) return;
      open = false;
      generation++;
      clearTimeout(timer);
      timer = null;
      clearInterval(ticker);
      ticker = null;
      if (controller) controller.abort();
      controller = null;
      hideTip();
    }

    // Tooltip: on hover with a mouse; on touch the first tap on a frame
    // shows it and a second tap zooms. A new graph keeps it on the same frame.
    const tip$ = { path: null, x: 0, y: 0, touch: false };
    function tipText(n, touch) {
      const total = state.tree ? state.tree.value : 0;
      const focus = find(state.tree, state.zoom);
      const samples = (v) => num(Math.round(v)) + (Math.round(v) === 1 ? ' sample' : ' samples');
      const lines = [[n.name, 'flame-tip-name'], [kindText[n.kind] || n.kind, 'flame-tip-kind'],
        [samples(n.value) + (total ? ', ' + percent(n.value / total) + ' of all' : ''), '']];
      if (focus && n.depth > focus.depth && focus.value) lines.push([percent(n.value / focus.value) + ' of ' + focus.name, '']);
      if (touch) lines.push([n.parent ? 'tap again to zoom in' : 'tap again to zoom out', 'flame-tip-hint']);
      return lines;
    }
    function showTip(f, x, y, touch) {
      tip$.path = pathOf(f.node); tip$.x = x; tip$.y = y; tip$.touch = touch;
      for (const o of box.querySelectorAll('.flame-tapped')) o.classList.remove('flame-tapped');
      if (touch) f.classList.add('flame-tapped');
      tip.replaceChildren(...tipText(f.node, touch).map(([t, cls]) => el('div', cls, t)));
      tip.hidden = false;
      const r = tip.getBoundingClientRect();
      const vw = document.documentElement.clientWidth, vh = document.documentElement.clientHeight;
      let left = x + 14, top = y + 16;
      if (left + r.width > vw - 8) left = Math.max(8, x - r.width - 14);
      if (top + r.height > vh - 8) top = Math.max(8, y - r.height - 12);
      tip.style.left = left + 'px';
      tip.style.top = top + 'px';
    }
    function hideTip() {
      tip.hidden = true;
      tip$.path = null;
      for (const f of box.querySelectorAll('.flame-tapped')) f.classList.remove('flame-tapped');
    }
    // retip puts the tooltip back on its frame in a graph just drawn.
    function retip() {
      if (tip.hidden || !tip$.path) return;
      const key = tip$.path.join('\u0000');
      const f = state.frames.find((o) => pathOf(o.node).join('\u0000') === key);
      if (f) showTip(f, tip$.x, tip$.y, tip$.touch); else hideTip();
    }
    const frameAt = (e) => (e.target instanceof Element ? e.target.closest('.flame-frame') : null);
    const tipKey = () => (tip$.path ? tip$.path.join('\u0000') : null);

    box.addEventListener('pointerdown', (e) => { lastPointer = e.pointerType || 'mouse'; });
    box.addEventListener('mousemove', (e) => {
      if (lastPointer === 'touch') return;
      const f = frameAt(e);
      if (f) showTip(f, e.clientX, e.clientY, false); else hideTip();
    });
    box.addEventListener('mouseleave', () => { if (lastPointer !== 'touch') hideTip(); });
    box.addEventListener('click', (e) => {
      const f = frameAt(e);
      const touch = lastPointer === 'touch';
      lastPointer = 'mouse';
      if (!f) { hideTip(); return; }
      if (touch && !(tip$.touch && tipKey() === pathOf(f.node).join('\u0000'))) {
        lastPointer = 'touch';
        showTip(f, e.clientX, e.clientY, true);
        return;
      }
      hideTip();
      zoom(f.node);
    });
    document.addEventListener('pointerdown', (e) => { if (!tip.hidden && !box.contains(e.target)) hideTip(); });
    // The tooltip is placed on the screen: it goes when anything scrolls (the sheet, the page).
    document.addEventListener('scroll', () => { if (!tip.hidden) hideTip(); }, { capture: true, passive: true });

    function zoom(n) {
      state.zoom = !n || !n.parent ? null : pathOf(n);
      render();
    }
    reset.addEventListener('click', () => zoom(null));
    for (const b of typeButtons) {
      b.addEventListener('click', () => {
        if (state.type === b.dataset.type) return;
        state.type = b.dataset.type;
        for (const o of typeButtons) o.setAttribute('aria-pressed', String(o === b));
        if (open) restart(true); else root.dataset.type = state.type;
      });
    }
    subtaskSelect.addEventListener('change', () => {
      state.subtask = subtaskSelect.value;
      if (open) restart(true); else root.dataset.subtask = state.subtask;
    });
    if (window.ResizeObserver) new ResizeObserver(() => label(box, state.frames)).observe(box);

    return { show, hide };
  }

  window.FlowlabFlame = Object.freeze({ panel, tree, color });
})();
