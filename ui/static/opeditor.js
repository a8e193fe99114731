// Flowlab's operator editor (/operators/new): a textarea over a highlighted
// copy of its text, with line numbers; Build posts the source to
// /api/operators/build and lists the compile errors, marked on their lines,
// or offers to run the built operator in a task of the session's job. Text
// from the server goes into the page with textContent only.
(() => {
  'use strict';

  const { $, $$, el, api } = window.Flowlab;
  const page = $('[data-testid=opeditor-page]');
  if (!page || !$('[data-testid=opeditor-source]', page)) return; // the server cannot build

  const ta = $('[data-testid=opeditor-source]', page);
  const code = $('[data-testid=opeditor-highlight]', page);
  const pre = code.parentElement;
  const gutter = $('[data-testid=opeditor-gutter]', page);
  const picker = $('[data-testid=opeditor-template]', page);
  const nameInput = $('[data-testid=opeditor-name]', page);
  const buildButton = $('[data-testid=opeditor-build]', page);
  const status = $('[data-testid=opeditor-status]', page);
  const errList = $('[data-testid=opeditor-errors]', page);
  const errBox = $('[data-testid=opeditor-error]', page);
  const okBox = $('[data-testid=opeditor-ok]', page);
  const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
  const LINE_PX = 20;

  // ------------------------------------------------------------ highlighting

  const KEYWORDS = new Set(('break case chan const continue default defer else fallthrough for func go goto if import ' +
    'interface map package range return select struct switch type var').split(' '));
  const TYPES = new Set(('any bool byte comparable complex64 complex128 error float32 float64 int int8 int16 int32 int64 ' +
    'rune string uint uint8 uint16 uint32 uint64 uintptr').split(' '));
  const BUILTINS = new Set(('append cap clear close complex copy delete imag len make max min new panic print println ' +
    'real recover true false iota nil').split(' '));
  const TOKEN = new RegExp([
    String.raw`(\/\/[^\n]*)`, // 1 line comment
    String.raw`(\/\*[\s\S]*?(?:\*\/|$))`, // 2 block comment
    String.raw`(` + '`' + String.raw`[^` + '`' + String.raw`]*` + '`' + String.raw`?)`, // 3 raw string
    String.raw`("(?:[^"\\\n]|\\.)*"?)`, // 4 string
    String.raw`('(?:[^'\\\n]|\\.)*'?)`, // 5 rune
    String.raw`((?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO]?[0-7_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?)i?)`, // 6 number
    String.raw`([A-Za-z_\u00c0-\uffff][\w\u00c0-\uffff]*)`, // 7 identifier
  ].join('|'), 'gy');

  // tokens splits Go source into [class, text] pairs ('' for plain text).
  function tokens(src) {
    const out = [];
    let plain = '';
    const flush = () => { if (plain) { out.push(['', plain]); plain = ''; } };
    TOKEN.lastIndex = 0;
    let i = 0;
    while (i < src.length) {
      TOKEN.lastIndex = i;
      const m = TOKEN.exec(src);
      if (!m || m[0] === '') { plain += src[i++]; continue; }
      let cls = '';
      if (m[1] || m[2]) cls = 'tok-comment';
      else if (m[3] || m[4] || m[5]) cls = 'tok-string';
      else if (m[6]) cls = 'tok-number';
      else if (KEYWORDS.has(m[7])) cls = 'tok-keyword';
      else if (TYPES.has(m[7])) cls = 'tok-type';
      else if (BUILTINS.has(m[7])) cls = 'tok-builtin';
      else if (src[i + m[0].length] === '(') cls = 'tok-func';
      if (cls) { flush(); out.push([cls, m[0]]); } else plain += m[0];
      i += m[0].length;
    }
    flush();
    return out;
  }

  // lines is the source as one array of [class, text] pairs per line.
  function lines(src) {
    const all = [[]];
    for (const [cls, text] of tokens(src)) {
      const parts = text.split('\n');
      parts.forEach((p, k) => {
        if (k > 0) all.push([]);
        if (p) all[all.length - 1].push([cls, p]);
      });
    }
    return all;
  }

  let marks = new Map(); // line -> messages of its errors
  let pending = false;

  function render() {
    pending = false;
    const rows = lines(ta.value);
    code.replaceChildren(...rows.map((toks, k) => {
      const line = el('div', { class: 'code-line', 'data-line': k + 1 });
      for (const [cls, text] of toks) line.append(cls ? el('span', { class: cls }, text) : text);
      if (!toks.length) line.append('\u200b'); // keeps an empty line's height
      if (marks.has(k + 1)) { line.classList.add('error'); line.dataset.testid = 'opeditor-error-line'; }
      return line;
    }));
    gutter.replaceChildren(...rows.map((_, k) => {
      const d = el('div', { 'data-line': k + 1 }, k + 1);
      if (marks.has(k + 1)) { d.className = 'error'; d.title = marks.get(k + 1).join('\n'); }
      return d;
    }));
    sync();
  }
  const schedule = () => { if (!pending) { pending = true; requestAnimationFrame(render); } };

  // sync moves the highlighted text and the line numbers with the textarea's scroll.
  function sync() {
    pre.style.transform = `translate(${-ta.scrollLeft}px, ${-ta.scrollTop}px)`;
    gutter.scrollTop = ta.scrollTop;
  }

  // ----------------------------------------------------------------- editing

  let escaped = false; // Escape was pressed: the next Tab leaves the editor
  ta.addEventListener('input', () => { schedule(); saveDraft(); });
  ta.addEventListener('scroll', sync);
  ta.addEventListener('blur', () => { escaped = false; });
  ta.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { escaped = true; return; }
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); build(); return; }
    if (e.key === 'Tab' && !escaped && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      indent(e.shiftKey);
      return;
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.altKey) {
      // keep the line's indentation, one more after an opening bracket
      e.preventDefault();
      const before = ta.value.slice(0, ta.selectionStart);
      const line = before.slice(before.lastIndexOf('\n') + 1);
      let lead = line.match(/^[\t ]*/)[0];
      if (/[{([]\s*$/.test(line)) lead += '\t';
      insert('\n' + lead);
      return;
    }
    if (e.key === '}' && ta.selectionStart === ta.selectionEnd && !e.ctrlKey && !e.metaKey && !e.altKey) {
      // a closing brace on a blank line goes one level out
      const before = ta.value.slice(0, ta.selectionStart);
      const lead = before.slice(before.lastIndexOf('\n') + 1);
      if (/^[\t ]+$/.test(lead)) {
        e.preventDefault();
        ta.setSelectionRange(ta.selectionStart - lead.length, ta.selectionStart);
        insert(lead.replace(/(\t| {1,4})$/, '') + '}');
      }
    }
    escaped = false;
  });

  // insert replaces the selection with text, undoably where the browser allows.
  function insert(text) {
    ta.focus();
    if (!document.execCommand || !document.execCommand('insertText', false, text)) {
      ta.setRangeText(text, ta.selectionStart, ta.selectionEnd, 'end');
      ta.dispatchEvent(new Event('input'));
    }
  }

  // indent indents (or outdents) the selected lines, or inserts a tab.
  function indent(out) {
    const v = ta.value;
    let s = ta.selectionStart, end = ta.selectionEnd;
    if (!out && !v.slice(s, end).includes('\n')) { insert('\t'); return; }
    const from = v.lastIndexOf('\n', s - 1) + 1;
    if (end > from && v[end - 1] === '\n') end--;
    const block = v.slice(from, end);
    const changed = block.split('\n').map((l) => (out ? l.replace(/^(\t| {1,4})/, '') : '\t' + l)).join('\n');
    ta.setSelectionRange(from, end);
    insert(changed);
    ta.setSelectionRange(from, from + changed.length);
  }

  // goTo selects a line (and a column) and scrolls it into view.
  function goTo(line, column) {
    const all = ta.value.split('\n');
    if (line < 1 || line > all.length) return;
    let start = 0;
    for (let k = 0; k < line - 1; k++) start += all[k].length + 1;
    const col = Math.min(Math.max(column || 1, 1) - 1, all[line - 1].length);
    ta.focus();
    ta.setSelectionRange(start + col, start + (column ? col : all[line - 1].length));
    const top = (line - 1) * LINE_PX, view = ta.clientHeight;
    if (top < ta.scrollTop || top + LINE_PX > ta.scrollTop + view) ta.scrollTop = Math.max(0, top - view / 3);
    sync();
  }

  // ------------------------------------------------------------- templates

  const sources = new Map($$('[data-testid=opeditor-template-source]', page).map((t) => [t.dataset.name, t.content.textContent]));
  const DRAFT = 'flowlab.opeditor.draft';
  function saveDraft() {
    try { sessionStorage.setItem(DRAFT, JSON.stringify({ name: nameInput.value, source: ta.value, template: picker.value })); } catch (e) { /* private mode */ }
  }

  function pick(name) {
    if (!sources.has(name)) return;
    if (ta.value.trim() && ta.value !== sources.get(picker.dataset.current || '') &&
        !confirm('Replace what you wrote with the template ' + name + '?')) {
      picker.value = picker.dataset.current || '';
      return;
    }
    picker.value = name;
    picker.dataset.current = name;
    ta.value = sources.get(name);
    if (!nameInput.value || nameInput.dataset.auto === 'true') {
      nameInput.value = 'my-' + name.replace(/[^A-Za-z0-9_-]/g, '-');
      nameInput.dataset.auto = 'true';
    }
    showErrors([]);
    okBox.hidden = true;
    ta.scrollTop = 0;
    render();
    saveDraft();
  }
  picker.addEventListener('change', () => pick(picker.value));
  nameInput.addEventListener('input', () => { nameInput.dataset.auto = 'false'; saveDraft(); });

  // ------------------------------------------------------------------ build

  function showErrors(errs) {
    marks = new Map();
    for (const e of errs) if (e.line) marks.set(e.line, [...(marks.get(e.line) || []), e.text]);
    errList.replaceChildren(...errs.map((e) => {
      const li = el('li', { class: 'editor-error', 'data-testid': 'opeditor-error-item', 'data-line': e.line || 0, 'data-column': e.column || 0 }, e.text);
      if (e.line) {
        li.tabIndex = 0;
        li.setAttribute('role', 'button');
        li.title = 'Go to line ' + e.line;
        li.addEventListener('click', () => goTo(e.line, e.column));
        li.addEventListener('keydown', (k) => { if (k.key === 'Enter' || k.key === ' ') { k.preventDefault(); goTo(e.line, e.column); } });
      }
      return li;
    }));
    errList.hidden = errs.length === 0;
    render();
  }

  let building = false;
  async function build() {
    if (building || buildButton.disabled && page.dataset.available !== 'true') return;
    errBox.hidden = okBox.hidden = true;
    const name = nameInput.value.trim().replace(/^upload:/, '');
    if (!NAME.test(name)) {
      fail('Name the operator: 1 to 64 letters, digits, - or _, starting with a letter or digit.');
      nameInput.focus();
      return;
    }
    if (!ta.value.trim()) { fail('Write the operator first, or start from a template.'); return; }
    building = true;
    buildButton.disabled = true;
    buildButton.setAttribute('aria-busy', 'true');
    const t0 = Date.now();
    const tick = () => { status.textContent = `Building… ${Math.floor((Date.now() - t0) / 1000)} s`; };
    tick();
    const timer = setInterval(tick, 250);
    page.dataset.state = 'building';
    try {
      const op = await api('POST', '/api/operators/build', { name, source: ta.value });
      showErrors([]);
      page.dataset.state = 'built';
      status.textContent = `Built in ${(op.buildMs / 1000).toFixed(1)} s`;
      $('[data-field=built]', okBox).textContent =
        `${op.name} is in your library (${sizeText(op.size)}, built in ${(op.buildMs / 1000).toFixed(1)} s).`;
      // Hints that did not stop the build (the size fmt adds, say).
      const hints = $('[data-field=hints]', okBox);
      hints.replaceChildren(...(op.hints || []).map((h) => {
        const li = document.createElement('li');
        li.textContent = h;
        return li;
      }));
      hints.hidden = !(op.hints && op.hints.length);
      const specName = $('[data-field=spec-name]', okBox);
      if (specName) specName.textContent = 'operator: ' + op.name;
      okBox.dataset.operator = op.name;
      okBox.hidden = false;
      okBox.scrollIntoView({ block: 'nearest' });
    } catch (e) {
      page.dataset.state = 'failed';
      status.textContent = '';
      const details = e.data && e.data.details;
      if (e.status === 400 && details && details.length) {
        showErrors(details.map((d, k) => ({ line: d.line, column: d.column, text: e.data.errors[k] || d.message })));
        status.textContent = details.length === 1 ? '1 error' : details.length + ' errors';
        errList.scrollIntoView({ block: 'nearest' });
      } else {
        showErrors([]);
        fail(e.status ? e.message : 'The build failed: the server is not reachable.');
        errBox.scrollIntoView({ block: 'nearest' });
        if (e.status === 503) page.dataset.available = 'false';
      }
    } finally {
      clearInterval(timer);
      building = false;
      buildButton.disabled = false;
      buildButton.removeAttribute('aria-busy');
    }
  }
  const sizeText = (n) => (n >= 1 << 20 ? (n / (1 << 20)).toFixed(1) + ' MiB' : (n / 1024).toFixed(1) + ' KiB');
  function fail(msg) {
    errBox.textContent = msg;
    errBox.hidden = false;
  }
  buildButton.addEventListener('click', build);

  // ------------------------------------------------------------ run it

  const use = $('[data-testid=opeditor-use]', page);
  if (use) {
    const useButton = $('[data-testid=opeditor-use-button]', use);
    useButton.addEventListener('click', async () => {
      const jid = use.dataset.jid, task = $('[data-testid=opeditor-task]', use).value, operator = okBox.dataset.operator;
      if (!operator) return;
      useButton.disabled = true;
      try {
        await api('PATCH', '/api/jobs/' + encodeURIComponent(jid), { task, operator });
        location.href = use.dataset.return || '/?job=' + encodeURIComponent(jid);
      } catch (e) {
        fail(e.message);
        useButton.disabled = false;
      }
    });
  }

  // ------------------------------------------------------------------ start

  let draft = null;
  try { draft = JSON.parse(sessionStorage.getItem(DRAFT) || 'null'); } catch (e) { /* none */ }
  if (draft && draft.source) {
    ta.value = draft.source;
    nameInput.value = draft.name || '';
    if (sources.has(draft.template)) { picker.value = draft.template; picker.dataset.current = draft.template; }
  } else if (sources.size) {
    const first = sources.keys().next().value;
    pick(first);
  }
  render();
})();
