// Flowlab's menu: below the wide layout the sidebar is a bar on top, and its
// button opens and closes the navigation (app.css hides the button when the
// sidebar is shown whole). Escape or a click elsewhere closes it.
(() => {
  'use strict';

  const bar = document.querySelector('[data-testid=sidebar]');
  const button = bar && bar.querySelector('[data-testid=nav-toggle]');
  if (!button) return;
  const isOpen = () => bar.dataset.open === 'true';
  function set(open) {
    bar.dataset.open = String(open);
    button.setAttribute('aria-expanded', String(open));
  }
  button.addEventListener('click', () => set(!isOpen()));
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && isOpen()) { set(false); button.focus(); }
  });
  document.addEventListener('click', (e) => { if (isOpen() && !bar.contains(e.target)) set(false); });
})();
