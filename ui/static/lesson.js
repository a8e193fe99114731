// Flowlab's lesson script: the lesson list's progress, and the lesson panel
// beside the graph. The server renders every step and follows the goal; this
// script polls the progress (GET /api/lessons/{id}/progress, docs/API.md),
// shows the learner's step below the passed ones (collapsed, reopened by
// their titles), and sends answers, picks, Continue and hints. Progress is
// kept in localStorage. Uses app.js's helpers (window.Flowlab); text goes
// into the page only with textContent or attributes.
(() => {
  'use strict';

  const { $, $$, el, api, toast } = window.Flowlab;
  const POLL_MS = 500;
  const STORE = 'flowlab.lessons';
  const SVG = 'http://www.w3.org/2000/svg';

  // The browser's progress: {id: {step, steps, done}}.
  function loadStore() {
    try { return JSON.parse(localStorage.getItem(STORE)) || {}; } catch (e) { return {}; }
  }
  function saveProgress(id, step, steps, done) {
    const all = loadStore();
    const was = all[id] || {};
    all[id] = { step, steps, done: Boolean(was.done || done) };
    try { localStorage.setItem(STORE, JSON.stringify(all)); } catch (e) { /* private mode: not kept */ }
  }

  // ---------------------------------------------------------------- list

  function lessonList(list) {
    const all = loadStore();
    for (const card of $$('[data-testid=lesson-item]', list)) {
      const p = all[card.dataset.lesson];
      const steps = Number(card.dataset.steps);
      const status = $('[data-field=status]', card);
      const bar = $('[data-field=progress]', card);
      if (!p) continue;
      card.dataset.done = String(Boolean(p.done));
      card.classList.toggle('done', Boolean(p.done));
      if (p.done) {
        status.textContent = 'Done';
        bar.value = steps;
      } else if (p.step > 0) {
        card.classList.add('started');
        status.textContent = `Step ${Math.min(p.step + 1, steps)} of ${steps}`;
        bar.value = Math.min(p.step, steps);
      }
    }
  }

  // --------------------------------------------------------------- panel

  function lessonPanel(panel) {
    const main = $('[data-testid=playground]');
    const id = panel.dataset.lesson;
    const jid = main.dataset.jid;
    const steps = Number(panel.dataset.steps);
    const svg = $('[data-testid=graph]', main);
    const graphArea = $('.graph-area', main);
    const flash = $('[data-field=flash]', panel);
    const hintButton = $('[data-testid=lesson-hint-button]', panel);
    const showGoal = $('[data-testid=lesson-show-goal]', panel);
    const base = `/api/lessons/${encodeURIComponent(id)}/`;
    let current = Number(panel.dataset.step);
    let picking = false;
    let goalShown = false;
    let ended = false;

    const showJob = (j) => location.replace(location.pathname + '?job=' + encodeURIComponent(j));
    const stepEl = (k) => $(`[data-testid=lesson-step][data-step="${k}"]`, panel);
    const nodeOf = (task) => $$('[data-testid=node]', svg).find((g) => g.dataset.task === task);

    let flashTimer;
    function say(text, kind = 'ok', ms = 3000) {
      flash.textContent = text;
      flash.className = 'lesson-flash ' + kind;
      flash.hidden = false;
      clearTimeout(flashTimer);
      if (ms) flashTimer = setTimeout(() => { flash.hidden = true; }, ms);
    }

    function feedback(text) {
      const f = $('[data-field=feedback]', stepEl(current) || panel);
      if (!f) return;
      f.textContent = text || '';
      f.hidden = !text;
    }

    // showStep shows step k (the done panel past the last step): the steps
    // before it passed and collapsed, the steps after it hidden.
    function showStep(k, quiet) {
      const before = current;
      current = k;
      panel.dataset.step = String(k);
      for (const s of $$('[data-testid=lesson-step]', panel)) setState(s, Number(s.dataset.step));
      const done = k >= steps;
      $('[data-testid=lesson-done]', panel).hidden = !done;
      $('[data-field=step-bar]', panel).value = Math.min(k, steps);
      $('[data-field=step-label]', panel).textContent = done ? 'Done' : `Step ${k + 1} of ${steps}`;
      setPicking(false);
      drawGoal();
      updateTools(0);
      const body = $('.lesson-body', panel);
      const top = stepEl(k) || $('[data-testid=lesson-done]', panel);
      body.scrollTop += top.getBoundingClientRect().top - body.getBoundingClientRect().top - 8;
      if (!done && k > before && !quiet) say(`Goal reached: on to step ${k + 1}.`);
    }

    // setState makes a step passed (collapsed, reopenable), current or ahead (hidden).
    function setState(s, k) {
      const state = k < current ? 'passed' : k === current ? 'current' : 'ahead';
      if (s.dataset.state === state) return;
      s.dataset.state = state;
      s.className = 'lesson-step step-' + state;
      s.hidden = state === 'ahead';
      const passed = state === 'passed';
      const toggle = $('[data-testid=lesson-step-toggle]', s);
      toggle.disabled = !passed;
      toggle.setAttribute('aria-expanded', String(!passed));
      $('[data-field=step-body]', s).hidden = passed;
      for (const b of $$('[data-testid=lesson-choice]', s)) b.disabled = passed;
      for (const e of $$('[data-testid=lesson-pick], [data-field=continue], [data-field=feedback], [data-testid=lesson-hint]', s)) {
        if (passed) e.hidden = true;
      }
      if (passed) for (const c of $$('[data-testid=lesson-condition]', s)) c.dataset.met = 'true';
    }

    // A passed step's title shows or hides it again.
    for (const t of $$('[data-testid=lesson-step-toggle]', panel)) {
      t.addEventListener('click', () => {
        const s = t.closest('[data-testid=lesson-step]');
        if (s.dataset.state !== 'passed') return;
        const open = t.getAttribute('aria-expanded') !== 'true';
        t.setAttribute('aria-expanded', String(open));
        $('[data-field=step-body]', s).hidden = !open;
      });
    }

    function updateTools(revealed) {
      const step = stepEl(current);
      hintButton.hidden = showGoal.hidden = !step; // done
      const hints = step ? $$('[data-testid=lesson-hint]', step) : [];
      const fresh = hints.filter((h, i) => h.hidden && i < revealed);
      hints.forEach((h, i) => { h.hidden = i >= revealed; });
      if (fresh.length) fresh[fresh.length - 1].scrollIntoView({ block: 'nearest', behavior: 'smooth' });
      hintButton.disabled = revealed >= hints.length;
      hintButton.textContent = hints.length === 0 ? 'No hints' : revealed === 0 ? 'Hint' : revealed < hints.length ? 'Another hint' : 'No more hints';
      showGoal.disabled = !step || $$('.goal-targets li', step).length === 0;
    }

    // apply shows a progress answer of the lesson API.
    function apply(p) {
      if (p.jid !== jid) { showJob(p.jid); return; } // a reset elsewhere
      if (p.step !== current) showStep(p.step);
      saveProgress(id, p.step, p.steps, p.done);
      const step = stepEl(current);
      if (!step) return;
      if (p.met) {
        const all = Object.values(p.met).every(Boolean);
        for (const c of $$('[data-testid=lesson-condition]', step)) c.dataset.met = String(c.dataset.when ? Boolean(p.met[c.dataset.when]) : all);
      }
      const cont = $('[data-testid=lesson-continue]', step);
      if (cont && cont.disabled === p.reached) {
        cont.disabled = !p.reached;
        $('[data-field=continue-note]', step).textContent = p.reached
          ? 'Goal reached. Continue when you are ready.' : 'Continue opens once the goal is reached.';
        if (p.reached) say('Goal reached: continue when you are ready.');
      }
      const hold = $('[data-field=hold]', step);
      if (hold) {
        hold.value = p.reached ? p.needMs : p.holding ? p.heldMs : 0;
        $('[data-field=hold-text]', step).textContent = p.reached ? 'reached' : p.holding
          ? `holding: ${(p.heldMs / 1000).toFixed(1)} of ${p.needMs / 1000} s`
          : `hold it for ${p.needMs / 1000} s`;
      }
      updateTools(p.revealed.length);
      const wasEnded = ended;
      ended = ['FINISHED', 'CANCELED', 'FAILED'].includes(p.state);
      if (ended && !wasEnded) say('The lesson\'s job has stopped. Reset to start the lesson over.', 'error', 0);
    }

    let polling = false;
    async function poll() {
      if (polling || document.hidden || current >= steps) return;
      polling = true;
      try { apply(await api('GET', base + 'progress')); } catch (e) { /* the next poll tries again */ } finally { polling = false; }
    }

    async function post(what, body, quiet) {
      try {
        const p = await api('POST', base + what, body);
        if (p.step !== current && p.jid === jid) showStep(p.step, quiet);
        apply(p);
        return p;
      } catch (e) {
        toast(e.message);
        return null;
      }
    }

    // The tab the learner opens for a task (app.js's flowlab:view), for
    // goals such as opened(enrich, flamegraph). Quiet: most views count for
    // no goal.
    document.addEventListener('flowlab:view', async (e) => {
      try {
        const p = await api('POST', base + 'open', e.detail);
        if (p.step !== current && p.jid === jid) showStep(p.step);
        apply(p);
      } catch (err) { /* the next poll tells */ }
    });

    // Questions.
    for (const b of $$('[data-testid=lesson-choice]', panel)) {
      b.addEventListener('click', async () => {
        const step = current;
        const p = await post('answer', { choice: b.dataset.choice });
        if (!p) return;
        for (const o of $$('[data-testid=lesson-choice]', stepEl(step))) {
          o.classList.toggle('wrong', o === b && p.step === step);
          o.classList.toggle('right', o === b && p.step !== step);
        }
        if (p.step !== step) return;
        feedback('Not quite. Read the step again, or take a hint.');
      });
    }

    // Pointing at a task: a click on a node in pick mode picks it instead
    // of opening the drawer (this listener runs first, in the capture phase).
    function setPicking(on) {
      picking = on;
      main.classList.toggle('picking', on);
      for (const b of $$('[data-testid=lesson-pick]', panel)) {
        b.dataset.active = String(on);
        b.setAttribute('aria-pressed', String(on));
        b.textContent = on ? 'Stop pointing' : 'Point at the bottleneck';
      }
      const banner = $('.pick-banner', graphArea);
      if (on && !banner) graphArea.append(el('div', { class: 'pick-banner', role: 'status' }, 'Click the task you think is the bottleneck · Esc cancels'));
      if (!on && banner) banner.remove();
    }
    for (const b of $$('[data-testid=lesson-pick]', panel)) b.addEventListener('click', () => setPicking(!picking));
    document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && picking) setPicking(false); }, true);

    async function pick(e) {
      const g = e.target.closest && e.target.closest('[data-testid=node]');
      if (!picking || !g) return;
      if (e.type === 'keydown' && e.key !== 'Enter' && e.key !== ' ') return;
      e.preventDefault();
      e.stopPropagation();
      const step = current;
      const p = await post('pick', { task: g.dataset.task });
      if (!p) return;
      mark(g, p.step !== step ? 'pick-right' : 'pick-wrong');
      if (p.step === step) feedback(`Not ${g.dataset.task}. Look at the colors again, or take a hint.`);
    }
    svg.addEventListener('click', pick, true);
    svg.addEventListener('keydown', pick, true);

    function mark(g, cls) {
      g.classList.add(cls);
      setTimeout(() => g.classList.remove(cls), 1500);
    }

    // The goal on the graph: a dashed outline around each task a condition
    // names, in the colors the task would have, and a label; drawn beneath
    // the edges and nodes.
    function drawGoal() {
      $('.goal-layer', svg)?.remove();
      const step = stepEl(current);
      const targets = step ? $$('.goal-targets li', step) : [];
      const note = step && $('[data-field=goal-note]', step);
      if (note) note.hidden = !goalShown;
      showGoal.setAttribute('aria-pressed', String(goalShown && targets.length > 0));
      if (!goalShown || targets.length === 0) return;
      const layer = svgEl('g', { class: 'goal-layer' });
      $('defs', svg).after(layer);
      for (const t of targets) {
        const g = nodeOf(t.dataset.task);
        if (!g) continue;
        const box = $('.node-box', g);
        const w = Number(box.getAttribute('width')), h = Number(box.getAttribute('height'));
        const text = 'goal: ' + t.textContent;
        // A line per condition, in a box the server measured and made room
        // for below the task (components.GoalSize).
        const lines = text.split(' · ');
        const lw = Number(t.dataset.w), lh = Number(t.dataset.h);
        layer.append(svgEl('g', { class: 'goal-mark', 'data-testid': 'goal-target', 'data-task': t.dataset.task, transform: g.getAttribute('transform') },
          svgEl('rect', { class: 'goal-outline', x: -5, y: -5, width: w + 10, height: h + 10, rx: 9, stroke: t.dataset.border }),
          svgEl('g', { class: 'goal-pill', transform: `translate(${w / 2},${h + 10})` },
            svgEl('rect', { class: 'goal-label', x: -lw / 2, y: 0, width: lw, height: lh, rx: 11, fill: t.dataset.fill, stroke: t.dataset.border }),
            ...lines.map((l, i) => svgEl('text', { 'text-anchor': 'middle', y: 15 + 14 * i }, l))),
          svgEl('title', {}, text)));
      }
    }
    function svgEl(tag, attrs, ...children) {
      const e = document.createElementNS(SVG, tag);
      for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
      for (const c of children) e.append(c);
      return e;
    }
    showGoal.addEventListener('click', () => { goalShown = !goalShown; drawGoal(); });

    // Continue, in a step that asks the learner to look: open once the goal is reached.
    for (const b of $$('[data-testid=lesson-continue]', panel)) b.addEventListener('click', () => post('continue', undefined, true));

    hintButton.addEventListener('click', () => post('hint'));

    // Reset asks first: it throws away the learner's progress and their job.
    const reset = $('[data-testid=lesson-reset]', panel);
    const confirmReset = $('[data-testid=lesson-reset-confirm]', panel);
    const asking = (on) => { confirmReset.hidden = !on; reset.hidden = on; };
    reset.addEventListener('click', () => { asking(true); $('[data-testid=lesson-reset-no]', panel).focus(); });
    $('[data-testid=lesson-reset-no]', panel).addEventListener('click', () => { asking(false); reset.focus(); });
    $('[data-testid=lesson-reset-yes]', panel).addEventListener('click', async () => {
      asking(false);
      try { showJob((await api('POST', base + 'reset')).jid); } catch (e) { toast(e.message); }
    });

    updateTools($$('[data-testid=lesson-hint]:not([hidden])', stepEl(current) || panel).length);
    saveProgress(id, current, steps, current >= steps);
    setInterval(poll, POLL_MS);
    poll();
  }

  const list = $('[data-testid=lesson-list]');
  if (list) lessonList(list);
  const panel = $('[data-testid=lesson-panel]');
  if (panel) lessonPanel(panel);
})();
