// The victims' form (report.html), served by takedown at /report and /report/case: its own small
// entry (no console code, no session, no key). Routing between the two by location.pathname.
import { html, render } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import './report.css'; // with ../styles.css first (@import): one stylesheet, in order
import { t, getLang, setLang } from './i18n.js';
import { ReportPage } from './form.js';
import { CasePage } from './case.js';

const routeOf = () => (/^\/report\/case\/?$/.test(location.pathname) ? 'case' : 'report');
const listeners = new Set();
function navigate(path) {
  history.pushState(null, '', path);
  listeners.forEach((fn) => fn());
  window.scrollTo(0, 0);
}
function useRoute() {
  const [r, setR] = useState(routeOf());
  useEffect(() => {
    const fn = () => setR(routeOf());
    listeners.add(fn);
    window.addEventListener('popstate', fn);
    return () => { listeners.delete(fn); window.removeEventListener('popstate', fn); };
  }, []);
  return r;
}
function interceptLinks(e) {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest && e.target.closest('a[href]');
  if (!a || a.hasAttribute('download') || a.target) return;
  const href = a.getAttribute('href');
  if (href !== '/report' && href !== '/report/case') return;
  e.preventDefault();
  if (href !== location.pathname) navigate(href);
}

function App() {
  const route = useRoute();
  const [lang, setLangState] = useState(getLang());
  const onLang = (l) => { setLang(l); setLangState(getLang()); };
  useEffect(() => { document.title = `${t(route === 'case' ? 'title_case' : 'title_report')} · ${t('app')}`; }, [route, lang]);
  return html`<div class="report-shell" onClick=${interceptLinks}>
    <a class="skip" href="#main">${t('skip')}</a>
    <header class="top">
      <div class="top-row">
        <p class="brand">${t('app')}</p>
        <div class="lang">
          <label for="lang-select">${t('language')}</label>
          <select id="lang-select" value=${lang} onChange=${(e) => onLang(e.target.value)}>
            <option value="en" lang="en">English</option>
            <option value="ko" lang="ko">한국어</option>
          </select>
        </div>
      </div>
      <nav aria-label=${t('nav')}>
        <ul>
          <li><a href="/report" aria-current=${route === 'report' ? 'page' : undefined}>${t('nav_report')}</a></li>
          <li><a href="/report/case" aria-current=${route === 'case' ? 'page' : undefined}>${t('nav_case')}</a></li>
        </ul>
      </nav>
    </header>
    <main id="main" tabindex="-1">
      ${route === 'case' ? html`<${CasePage} />` : html`<${ReportPage} />`}
    </main>
  </div>`;
}

render(html`<${App} />`, document.getElementById('app'));
